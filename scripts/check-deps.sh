#!/usr/bin/env bash
# Enforces the dependency rule of doc/architecture.md by grepping #include lines:
#   - lib/ never includes DPDK, libbpf, libxdp or Linux TUN/netdevice headers (only drivers/ may);
#   - lib/ and drivers/ never include app/ headers; drivers never include each other.
# Prints every violation and exits 1 if there is any.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 2
fail=0

report() {
  echo "check-deps: $1" >&2
  fail=1
}

while IFS= read -r hit; do
  report "lib/ must not include driver-only headers: $hit"
done < <(grep -rnE '#include[[:space:]]*[<"](rte_|bpf/|xdp/|linux/if_tun\.h|linux/if_xdp\.h)' lib/ 2>/dev/null)

while IFS= read -r hit; do
  report "lib/ and drivers/ must not include app/: $hit"
done < <(grep -rnE '#include[[:space:]]*"(\.\./)*app/' lib/ drivers/ 2>/dev/null)

for d in drivers/*/; do
  name=$(basename "$d")
  while IFS= read -r hit; do
    report "driver $name must not include another driver: $hit"
  done < <(grep -rnE '#include[[:space:]]*[<"]ocm/(tun|dpdk|af_xdp)/' "$d" 2>/dev/null | grep -v "ocm/$name/")
done

if [[ $fail -eq 0 ]]; then
  echo "check-deps: dependency rule holds"
fi
exit $fail
