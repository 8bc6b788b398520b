#!/bin/busybox sh
# /init of the initramfs that test/vm/kernel-vm.ts boots: loads the virtio and 9p modules the
# Debian kernel builds as modules, mounts the host's root (read-only) and the output share, and
# runs the guest script named on the kernel command line (capctl.script=PATH) inside the host's
# root with the guest's own proc, sys, tracefs and a tmpfs /run (the host's paths stay the same
# in the guest, /tmp included; the guest writes under /run only). The script gets the output
# share's path (/run/out) as its argument; its exit status is written there; then the guest
# powers off.
/bin/busybox mkdir -p /proc /sys /dev /newroot
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs dev /dev
script=
for w in $(/bin/busybox cat /proc/cmdline); do
  case "$w" in capctl.script=*) script=${w#capctl.script=} ;; esac
done
for m in $(/bin/busybox cat /modules/order); do
  /bin/busybox insmod "/modules/$m.ko" || echo "capctl-vm: insmod $m failed"
done
opts=trans=virtio,version=9p2000.L,msize=512000,cache=loose
if /bin/busybox mount -t 9p -o "ro,$opts" hostroot /newroot &&
  /bin/busybox mount -t tmpfs run /newroot/run &&
  /bin/busybox mkdir /newroot/run/out /newroot/run/tmp &&
  /bin/busybox mount -t 9p -o "$opts" out /newroot/run/out &&
  /bin/busybox mount -t proc proc /newroot/proc &&
  /bin/busybox mount -t sysfs sys /newroot/sys &&
  /bin/busybox mount -t tracefs tracefs /newroot/sys/kernel/tracing &&
  /bin/busybox mount -t devtmpfs dev /newroot/dev; then
  HOME=/run/tmp TMPDIR=/run/tmp PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    /bin/busybox chroot /newroot /bin/sh "$script" /run/out
  echo "$?" > /newroot/run/out/status
else
  echo "capctl-vm: mounting the host's root failed"
fi
/bin/busybox sync
/bin/busybox poweroff -f
