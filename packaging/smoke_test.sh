#!/usr/bin/env bash
# Smoke test of a built bundle: it starts offscreen, opens the demo case, fuses with a network and a classic
# method, writes screenshots, and exits 0. Prints size, start-up time and per-run times (for docs/performance.md).
set -euo pipefail
bundle=${1:?usage: smoke_test.sh dist/MedFuse-<version>}
out=${2:-build/smoke}
mkdir -p "$out"
export QT_QPA_PLATFORM=offscreen
export HOME=$(mktemp -d)   # fresh settings: no recent files or layout from the build machine
network=$("$bundle/medfuse" methods --json | python3 -c "import json,sys; print(next(m['name'] for m in json.load(sys.stdin) if m['kind']=='network' and m['available']))")
echo "size: $(du -sh "$bundle" | cut -f1)"
"$bundle/medfuse" --version
"$bundle/MedFuse" --startup-time
for method in "$network" gff; do
  start=$(date +%s.%N)
  "$bundle/MedFuse" --demo --method "$method" --screenshot "$out/smoke-$method.png" --timeout 240
  echo "demo + $method + metrics + screenshot: $(python3 -c "print(f'{$(date +%s.%N) - $start:.1f}')") s"
  test -s "$out/smoke-$method.png"
done
# and MMIF-AMIN: its CPU kernels are compiled by numba (LLVM) inside the bundle, cached under the user's cache folder
for method in "$network" mmif-amin; do
  "$bundle/medfuse" fuse --anat "$bundle/_internal/resources/demo/spect-mri/MRI/11017.png" \
    --func "$bundle/_internal/resources/demo/spect-mri/SPECT/11017.png" --method "$method" -o "$out/cli-$method.png" --force
  test -s "$out/cli-$method.png"
done
echo "smoke test passed: screenshots in $out"
