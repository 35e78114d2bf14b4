#!/bin/sh
# Prepares a host for the `dpdk` driver (doc/dpdk.md): reserves 2 MB hugepages, mounts
# hugetlbfs if nothing is mounted, and binds a NIC to vfio-pci (or uio_pci_generic) with
# dpdk-devbind.py. Run as root. --dry-run prints the commands instead of running them.
#
# Not exercised by the test suite: the development VMs have neither VFIO nor UIO
# (CONFIG_VFIO/CONFIG_UIO unset); the tests use --no-huge and a net_af_packet vdev instead.
set -eu

usage() {
  cat <<USAGE
usage: dpdk-setup.sh [--dry-run] [--hugepages N] [--mount DIR] [--bind PCI_ADDR] [--driver vfio-pci|uio_pci_generic]
       dpdk-setup.sh --status
  --hugepages N   reserve N 2 MB hugepages (default 512 = 1 GiB; 0 leaves them as they are)
  --mount DIR     hugetlbfs mount point when none is mounted (default /dev/hugepages)
  --bind ADDR     PCI address of the NIC DPDK takes over (e.g. 0000:00:05.0); the kernel loses it
  --driver NAME   vfio-pci (default; needs an IOMMU or enable_unsafe_noiommu_mode) or uio_pci_generic
  --dry-run       print what would be done
  --status        show hugepages, mounts and dpdk-devbind.py --status, change nothing
Then put the NIC in [datapath.dpdk] eal_args, e.g. ["-l", "1", "--in-memory", "-a", "ADDR"].
USAGE
}

DRY=0
PAGES=512
MOUNT=/dev/hugepages
BIND=""
DRIVER=vfio-pci
STATUS=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY=1 ;;
    --hugepages) PAGES="$2"; shift ;;
    --mount) MOUNT="$2"; shift ;;
    --bind) BIND="$2"; shift ;;
    --driver) DRIVER="$2"; shift ;;
    --status) STATUS=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "dpdk-setup.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

run() {
  if [ "$DRY" = 1 ]; then
    echo "would run: $*"
  else
    echo "+ $*"
    "$@"
  fi
}

DEVBIND=$(command -v dpdk-devbind.py || command -v dpdk-devbind || true)

if [ "$STATUS" = 1 ]; then
  grep -E 'HugePages_(Total|Free)|Hugepagesize' /proc/meminfo
  grep hugetlbfs /proc/mounts || echo "no hugetlbfs mounted"
  [ -n "$DEVBIND" ] && "$DEVBIND" --status-dev net || echo "dpdk-devbind.py not found (apt install dpdk)"
  exit 0
fi

if [ "$(id -u)" != 0 ] && [ "$DRY" = 0 ]; then
  echo "dpdk-setup.sh: must run as root (or use --dry-run)" >&2
  exit 1
fi

case "$PAGES" in
  ''|*[!0-9]*) echo "dpdk-setup.sh: --hugepages needs a number" >&2; exit 2 ;;
esac
if [ "$PAGES" -gt 0 ]; then
  run sh -c "echo $PAGES > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
  if [ "$DRY" = 0 ]; then
    got=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages)
    [ "$got" -ge "$PAGES" ] || echo "warning: only $got of $PAGES hugepages could be reserved (memory fragmented? reserve at boot: hugepages=$PAGES)" >&2
  fi
fi
# EAL --in-memory works without a mount (memfd); the default EAL mode needs one.
if ! grep -q hugetlbfs /proc/mounts; then
  run mkdir -p "$MOUNT"
  run mount -t hugetlbfs -o pagesize=2M nodev "$MOUNT"
fi

if [ -n "$BIND" ]; then
  if [ -z "$DEVBIND" ]; then
    if [ "$DRY" = 0 ]; then
      echo "dpdk-setup.sh: dpdk-devbind.py not found (apt install dpdk)" >&2
      exit 1
    fi
    DEVBIND=dpdk-devbind.py
  fi
  case "$DRIVER" in
    vfio-pci)
      run modprobe vfio-pci
      if [ ! -e /sys/kernel/iommu_groups/0 ]; then
        echo "note: no IOMMU groups; vfio-pci then needs: echo 1 > /sys/module/vfio/parameters/enable_unsafe_noiommu_mode" >&2
      fi ;;
    uio_pci_generic) run modprobe uio_pci_generic ;;
    *) echo "dpdk-setup.sh: --driver must be vfio-pci or uio_pci_generic" >&2; exit 2 ;;
  esac
  # The interface must be down: dpdk-devbind refuses to take an active interface.
  run "$DEVBIND" --bind="$DRIVER" "$BIND"
fi
echo "done; check with: dpdk-setup.sh --status"
