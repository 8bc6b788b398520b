/** Entry point of capctl-oci-runtime for create and run (bin/capctl-oci-runtime hands over). */
import { shimMain } from './oci-shim.js';

process.exitCode = await shimMain(process.argv.slice(2), process.argv[1]!);
