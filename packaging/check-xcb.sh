#!/bin/sh
# Before a real (X11) window: are the system libraries that Qt's xcb platform plugin needs installed?
# Without them Qt aborts at start with a message that names the wrong library (docs: stack notes 8 and 13).
# Prints one line naming the missing packages and the install command, and exits 1; silent and 0 when all is there,
# when not on Linux, or when QT_QPA_PLATFORM picks another platform (offscreen, wayland, ...).
# Usage: packaging/check-xcb.sh [python]   (the venv's python, to find PySide6's plugin)
PYTHON=${1:-python3}
[ "$(uname -s)" = Linux ] || exit 0
case "${QT_QPA_PLATFORM:-xcb}" in xcb*) ;; *) exit 0 ;; esac
PLUGIN=$("$PYTHON" -c "import os, PySide6; print(os.path.join(os.path.dirname(PySide6.__file__), 'Qt', 'plugins', 'platforms', 'libqxcb.so'))" 2>/dev/null) || exit 0
[ -f "$PLUGIN" ] || exit 0
# Linked libraries that the loader cannot find, plus libxcb-cursor, which Qt >= 6.5 opens at run time (dlopen).
MISSING=$(ldd "$PLUGIN" 2>/dev/null | awk '/not found/ {print $1}' | sort -u)
ldconfig -p 2>/dev/null | grep -q 'libxcb-cursor\.so\.0' || MISSING="$MISSING libxcb-cursor.so.0"
[ -n "$(echo $MISSING)" ] || exit 0
# Debian/Ubuntu package names follow the soname: libxcb-icccm.so.4 -> libxcb-icccm4, libxkbcommon-x11.so.0 ->
# libxkbcommon-x11-0 (a hyphen when the name ends in a digit), lower case (libEGL.so.1 -> libegl1).
PACKAGES=$(for lib in $MISSING; do
  name=${lib%%.so*}; version=${lib##*.so.}; version=${version%%.*}
  case "$name" in *[0-9]) sep=- ;; *) sep= ;; esac
  echo "$name$sep$version" | tr 'A-Z' 'a-z'
done | sort -u | tr '\n' ' ')
echo "make demo: the Qt window needs system libraries that are missing: ${PACKAGES% }; install them with: sudo apt-get install ${PACKAGES% }" >&2
exit 1
