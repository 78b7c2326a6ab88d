#!/bin/sh
# qemu-vm-manager installer hook, served as BASE/hook.sh. The answer file's
# one-line hook fetches it and runs `sh /tmp/hook.sh FLAVOUR` as root in the
# installer, with the new system mounted at /target (docs/contracts.md).
#
# POSIX sh on purpose: d-i runs it under busybox, Ubiquity and Subiquity
# under dash. It fetches the guest setup files into /target/root/qvm/, runs
# the setup script inside the target, and reports failure itself when the
# setup script could not report (not fetched, not started, no wget or curl in
# the target). Exit status: that of the setup script, or 1.
#
# Rendered by tasks/vm/render.ts: BASE and HAS_VPN_AUTH are filled in.
# QVM_INSTALLER_TARGET and QVM_HOOK_TMP exist only so tests can run it on a
# scratch directory.
set -u

BASE='{{base_url}}'
HAS_VPN_AUTH='{{has_vpn_auth}}'

FLAVOUR="${1:-}"
TARGET="${QVM_INSTALLER_TARGET:-/target}"
TMP="${QVM_HOOK_TMP:-/tmp}"
QVM_DIR="$TARGET/root/qvm"
HOOK_LOG="$TMP/qvm-hook.log"
# Subiquity's error-commands skip their own report when this exists.
REPORTED="$TMP/qvm-reported"

log() {
  printf 'qvm-hook: %s\n' "$*" >>"$HOOK_LOG"
  printf 'qvm-hook: %s\n' "$*" >&2
}

# post FILE PATH: POST the file to BASE/PATH with whichever client the
# installer has (busybox wget in d-i, full wget or curl elsewhere). No -T:
# busybox 1.35's wget (bookworm's d-i) crashes with it.
post() {
  if command -v wget >/dev/null 2>&1 &&
    wget -q -O /dev/null --post-file "$1" "$BASE$2"; then
    return 0
  fi
  command -v curl >/dev/null 2>&1 &&
    curl -fsS -m 60 -o /dev/null --data-binary "@$1" "$BASE$2"
}

# report STATUS: send our log and, when it exists, the setup script's log.
report() {
  body="$TMP/qvm-report.log"
  cat "$HOOK_LOG" "$TARGET/var/log/setup_vm_in_guest.log" >"$body" 2>/dev/null
  if post "$body" "report?status=$1"; then
    : >"$REPORTED"
  else
    log "could not send the $1 report to ${BASE}report"
  fi
}

fail() {
  log "error: $*"
  report failure
  exit 1
}

fetch() {
  rm -f "$QVM_DIR/$1"
  wget -q -O "$QVM_DIR/$1" "$BASE$1" || {
    rm -f "$QVM_DIR/$1"
    return 1
  }
}

case "$FLAVOUR" in
  ubiquity | debian) set -- in-target ;;
  subiquity) set -- curtin in-target -- ;;
  *) fail "unknown installer flavour '$FLAVOUR' (expected ubiquity, subiquity or debian)" ;;
esac
log "started for $FLAVOUR, fetching the guest setup files from $BASE"

# Everything under /root/qvm is for root only: setup.env and vpn.auth are secrets.
umask 077
if ! mkdir -p "$QVM_DIR" || ! chmod 700 "$QVM_DIR"; then
  fail "could not create $QVM_DIR"
fi
for file in setup_vm_in_guest.sh setup.env client.ovpn; do
  fetch "$file" || fail "could not fetch $BASE$file"
done
if [ "$HAS_VPN_AUTH" = 1 ]; then
  fetch vpn.auth || fail "could not fetch ${BASE}vpn.auth"
fi
chmod 600 "$QVM_DIR"/* || fail "could not restrict the files in $QVM_DIR"

# The setup script touches /root/qvm/reported once its own report went out.
rm -f "$QVM_DIR/reported" "$REPORTED"
log "running: $* bash /root/qvm/setup_vm_in_guest.sh /root/qvm/setup.env"
"$@" bash /root/qvm/setup_vm_in_guest.sh /root/qvm/setup.env
status=$?

if [ -e "$QVM_DIR/reported" ]; then
  : >"$REPORTED"
  log "the setup script exited with status $status and reported it"
  exit "$status"
fi
if [ "$status" -eq 0 ]; then
  log "the setup script succeeded but could not report; reporting for it"
  report success
else
  log "the setup script failed (exit status $status) without reporting; reporting for it"
  report failure
fi
exit "$status"
