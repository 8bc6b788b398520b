#!/bin/sh
# Runs inside the guest that test/live/kprobe-vm.test.ts boots (a Debian kernel older than
# 6.14: no capability:cap_capable tracepoint, but kprobe_events). The checkout is the host's,
# read-only at the same path; results go to $1 (the output share), one file per question, for
# the host test to judge. capctl chooses its source of checks by itself here: the fallback is
# what runs, unless the guest's kernel has the tracepoint after all (then it is forced, and
# source says so).
out=$1
repo=$(cd "$(dirname "$0")/../.." && pwd)
capctl() { node "$repo/bin/capctl.js" "$@"; }
# When each step ended, in seconds since boot (emulated CPUs are slow): a failing test shows them.
step() { echo "$(cut -d' ' -f1 /proc/uptime) $1" >> "$out/steps"; }
T=/sys/kernel/tracing
uname -r > "$out/uname"
if [ -e $T/events/capability/cap_capable ]; then
  export CAPCTL_CAP_SOURCE=kprobe
  echo "tracepoint present: kprobe forced" > "$out/source"
else
  echo "no tracepoint" > "$out/source"
fi
[ -e $T/kprobe_events ] || echo "no kprobe_events" >> "$out/source"
ip link set lo up
step booted

w=$(mktemp -d)
chmod 755 "$w"

# learn, with its verification runs under capctl exec: each result is sufficient and minimal.
learn_case() {
  name=$1
  shift
  capctl learn --json --out "$out/$name.yaml" -- "$@" > "$out/$name.json" 2> "$out/$name.err"
  echo $? > "$out/$name.status"
  step "learn-$name"
}
touch "$w/file"
learn_case chown chown 1:1 "$w/file"
learn_case ping ping -c1 -W2 127.0.0.1
learn_case nice nice -n -5 true
# Compiled on the host (the guest's CPUs are emulated) into the output share, when gcc is there.
[ -x "$out/bind80" ] && learn_case bind80 "$out/bind80"

# audit follow: a refusal made while it runs is recorded, and SIGTERM leaves nothing behind.
# node itself in the background (not the capctl function, whose subshell would get the signal).
node "$repo/bin/capctl.js" audit follow --out "$out/follow.log" --rate 0 2> "$out/follow.err" &
fpid=$!
# Recording once its instance has tracing_on set (it is made with tracing off).
i=0
while [ "$(cat $T/instances/capctl-follow-$fpid-*/tracing_on 2> /dev/null)" != 1 ] && [ $i -lt 600 ]; do
  sleep 0.1
  i=$((i + 1))
done
step follow-ready
touch "$w/owned"
capctl exec --profile strict --user 65534 -- chown 0 "$w/owned" 2> "$out/denied.err"
echo $? > "$out/denied.status"
# The same refusal from a process still there when follow reads it (perl-base is essential).
capctl exec --profile strict --user 65534 -- perl -e 'chown(0, 0, $ARGV[0]) and exit 1; sleep 3' "$w/owned"
echo $? > "$out/denied-perl.status"
sleep 1
kill -TERM $fpid
wait $fpid
echo $? > "$out/follow.status"
step follow-stopped

# What capctl left in tracefs: neither an instance nor a probe.
ls $T/instances > "$out/instances-after"
cat $T/kprobe_events > "$out/kprobes-after"
