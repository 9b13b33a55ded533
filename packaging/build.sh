#!/usr/bin/env bash
# Build the one-folder desktop bundle from a fresh clone, then smoke-test it.
#   packaging/build.sh            -> dist/MedFuse-<version>/ and dist/MedFuse-<version>-<os>-<arch>.tar.gz
# Creates .venv-bundle with the project, its pinned CPU torch and PyInstaller (a separate venv keeps test extras out).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=.venv-bundle
test -x $VENV/bin/python || $PYTHON -m venv $VENV
$VENV/bin/python -m pip install --disable-pip-version-check -q -e '.[packaging]'
start=$(date +%s)
$VENV/bin/pyinstaller --noconfirm --clean --distpath dist --workpath build/pyinstaller packaging/medfuse.spec
build_seconds=$(( $(date +%s) - start ))
version=$($VENV/bin/python -c "import medfuse_gui; print(medfuse_gui.__version__)")
bundle=dist/MedFuse-$version
echo "built $bundle in ${build_seconds} s, $(du -sh $bundle | cut -f1) on disk"
echo "$build_seconds" > build/pyinstaller/build_seconds
packaging/smoke_test.sh "$bundle"
tar -C dist -czf "dist/MedFuse-$version-$(uname -s | tr A-Z a-z)-$(uname -m).tar.gz" "MedFuse-$version"
