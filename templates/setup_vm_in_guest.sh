#!/bin/bash
# qemu-vm-manager guest setup, served as BASE/setup_vm_in_guest.sh and run by
# hook.sh inside the freshly installed system (docs/contracts.md):
#
#   bash /root/qvm/setup_vm_in_guest.sh /root/qvm/setup.env
#
# Installs x11vnc, OpenVPN and Telegram Desktop, sets up auto-login on Xorg so
# x11vnc can serve the desktop, and reports success or failure to the host
# with this run's log (trap on EXIT). client.ovpn and vpn.auth are read from
# beside the env file. Safe to run twice: the second run ends in the same state.
#
# Every path is prefixed with ${QVM_TARGET_ROOT:-} and every command is found
# through PATH, so tests run this on a scratch root with stub commands.
set -euo pipefail
umask 022

readonly ROOT="${QVM_TARGET_ROOT:-}"
readonly LOG_FILE="$ROOT/var/log/setup_vm_in_guest.log"
readonly PACKAGES=(x11vnc openvpn xz-utils wget ca-certificates iputils-ping)
readonly OVPN_DIR=/etc/openvpn/client
readonly TELEGRAM_BIN=/opt/telegram/Telegram/Telegram
QVM_DIR=''
WORK_DIR=''
TEE_PID=''

say() { printf 'setup_vm_in_guest: %s\n' "$*"; }
warn() { printf 'setup_vm_in_guest: warning: %s\n' "$*" >&2; }
die() {
  printf 'setup_vm_in_guest: error: %s\n' "$*" >&2
  exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }

# http_get URL FILE and http_post URL FILE: wget when the system has it
# (it follows redirects by itself), curl otherwise or when wget failed.
http_get() {
  if have wget && wget_ -q -O "$2" "$1"; then return 0; fi
  have curl && curl -fsSL --retry 3 -o "$2" "$1"
}
http_post() {
  if have wget && wget_ -q -O /dev/null --post-file "$2" "$1"; then return 0; fi
  have curl && curl -fsS --retry 2 -m 120 -o /dev/null --data-binary "@$2" "$1"
}
# GNU wget gets time limits; busybox's has no --version and crashes on -T.
wget_() {
  if wget --version >/dev/null 2>&1; then wget -T 30 -t 3 "$@"; else wget "$@"; fi
}

# write_file PATH MODE < CONTENT
write_file() {
  mkdir -p "$(dirname "$1")"
  cat >"$1"
  chmod "$2" "$1"
}

# A progress mark for the host (POST BASE/log?phase=NAME); never fails the run.
mark() {
  say "== $1"
  [[ -n ${PROGRESS_URL:-} ]] || return 0
  http_post "$PROGRESS_URL?phase=$1" /dev/null >/dev/null 2>&1 || true
}

# Everything from here on goes to the terminal and to LOG_FILE; the previous
# run's log is kept as LOG_FILE.1.
start_log() {
  mkdir -p "$(dirname "$LOG_FILE")"
  if [[ -e $LOG_FILE ]]; then mv -f "$LOG_FILE" "$LOG_FILE.1"; fi
  (umask 077 && : >"$LOG_FILE")
  exec 3>&1 4>&2
  # Process substitution needs /dev/fd; a chroot without it still gets the file.
  if [[ -d /dev/fd ]]; then
    exec > >(tee -a "$LOG_FILE") 2>&1
    TEE_PID=$!
  else
    exec >>"$LOG_FILE" 2>&1
  fi
}

on_exit() {
  local rc=$? status=success
  ((rc == 0)) || status=failure
  [[ -z $WORK_DIR ]] || rm -rf "$WORK_DIR"
  say "finished: status=$status (exit status $rc)"

  # Close our end of the pipe into tee and wait for it, so the log is whole.
  exec 1>&3 2>&4
  [[ -z $TEE_PID ]] || wait "$TEE_PID" 2>/dev/null || true

  if [[ -z ${REPORT_URL:-} ]]; then
    say "REPORT_URL is empty: not reporting"
  elif http_post "$REPORT_URL?status=$status" "$LOG_FILE"; then
    # hook.sh reports for us when this marker is missing.
    [[ -z $QVM_DIR ]] || : >"$QVM_DIR/reported" || true
  else
    warn "could not send the report to $REPORT_URL"
  fi
  exit "$rc"
}

load_env() {
  [[ -n $1 ]] || die "usage: setup_vm_in_guest.sh ENV_FILE"
  [[ -r $1 ]] || die "cannot read the env file $1"
  # shellcheck source=/dev/null
  . "$1"
  QVM_DIR="$(cd "$(dirname "$1")" && pwd)"
  rm -f "$QVM_DIR/reported"

  [[ -n ${USERNAME:-} ]] || die "USERNAME is empty in $1"
  [[ -n ${VNC_PASSWORD:-} ]] || die "VNC_PASSWORD is empty in $1"
  : "${USER_PASSWORD_HASH:=}" "${HAS_VPN_AUTH:=0}" "${VPN_CHECK_HOST:=}" "${TELEGRAM_URL:=}"
  HOME_DIR="/home/$USERNAME"
  say "setting up ${VM_NAME:-this VM} for user $USERNAME"
}

install_packages() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o Acquire::Retries=3 update
  apt-get -o Acquire::Retries=3 -o Dpkg::Options::=--force-confold install -y "${PACKAGES[@]}"
}

ensure_user() {
  if id -u "$USERNAME" >/dev/null 2>&1; then return 0; fi

  # Subiquity leaves the user to cloud-init on the first boot (its identity
  # goes into the target's cloud-init config, subiquity/models/subiquity.py),
  # so at late-commands time it does not exist yet. Create it with the same
  # hash; cloud-init then finds it and skips it.
  [[ -n $USER_PASSWORD_HASH ]] || die "user $USERNAME does not exist and USER_PASSWORD_HASH is empty"
  local groups=() group
  for group in adm cdrom sudo dip plugdev lpadmin users; do
    if grep -q "^$group:" "$ROOT/etc/group" 2>/dev/null; then groups+=("$group"); fi
  done
  local args=(--create-home --shell /bin/bash --comment "$USERNAME")
  if ((${#groups[@]})); then args+=(--groups "$(IFS=, && echo "${groups[*]}")"); fi
  say "creating user $USERNAME (groups: ${groups[*]:-none})"
  useradd "${args[@]}" --password "$USER_PASSWORD_HASH" "$USERNAME"
}

setup_vnc() {
  local vnc_dir="$ROOT$HOME_DIR/.vnc"
  install -d -m 700 "$vnc_dir"
  # The password is on x11vnc's argv for this one command, inside the
  # installer's chroot where no one else runs: -storepasswd without
  # arguments would read it from a tty, and there is none here.
  x11vnc -storepasswd "$VNC_PASSWORD" "$vnc_dir/passwd"
  chmod 600 "$vnc_dir/passwd"
  chown -R "$USERNAME:" "$vnc_dir"

  # An XDG autostart entry runs in the user's session, so x11vnc inherits
  # XAUTHORITY; with auto-login and no greeter that session is display :0.
  write_file "$ROOT/etc/xdg/autostart/x11vnc.desktop" 644 <<EOF
[Desktop Entry]
Type=Application
Name=x11vnc
Comment=VNC access to this desktop (qemu-vm-manager)
Exec=x11vnc -display :0 -rfbauth $HOME_DIR/.vnc/passwd -rfbport 5900 -forever -shared
NoDisplay=true
X-GNOME-Autostart-enabled=true
EOF
}

# x11vnc serves only Xorg sessions: force Xorg and log the user in
# automatically. Other lines and sections of custom.conf are kept.
configure_gdm() {
  local conf="$ROOT/etc/gdm3/custom.conf"
  mkdir -p "$(dirname "$conf")"
  [[ -e $conf ]] || : >"$conf"
  awk -v user="$USERNAME" '
    function ours() {
      print "WaylandEnable=false"; print "AutomaticLoginEnable=true"; print "AutomaticLogin=" user
    }
    /^[ \t]*\[/ { in_daemon = ($0 ~ /^[ \t]*\[daemon\][ \t]*$/); print; if (in_daemon) { ours(); seen = 1 }; next }
    in_daemon && /^[ \t]*(WaylandEnable|AutomaticLoginEnable|AutomaticLogin)[ \t]*=/ { next }
    { print }
    END { if (!seen) { print "[daemon]"; ours() } }
  ' "$conf" >"$conf.new"
  chmod 644 "$conf.new"
  mv -f "$conf.new" "$conf"
}

# GNOME's first-login wizard would sit on the VNC screen: nobody is there to
# click through it.
skip_welcome_wizard() {
  local config="$ROOT$HOME_DIR/.config"
  mkdir -p "$config"
  echo yes >"$config/gnome-initial-setup-done"
  chown "$USERNAME:" "$config" "$config/gnome-initial-setup-done"
}

# openvpn-client@client reads /etc/openvpn/client/client.conf; its unit has
# ProtectHome=true, so the credentials live beside the profile, not in /home.
setup_openvpn() {
  local dir="$ROOT$OVPN_DIR" profile="$QVM_DIR/client.ovpn"
  [[ -s $profile ]] || die "the OpenVPN profile $profile is missing or empty"
  install -d -m 755 "$dir"
  # Profiles edited on Windows have CRLF line endings; the awk below needs LF.
  (umask 077 && tr -d '\r' <"$profile" >"$dir/client.conf.new")

  if [[ $HAS_VPN_AUTH == 1 ]]; then
    [[ -s $QVM_DIR/vpn.auth ]] || die "HAS_VPN_AUTH=1 but $QVM_DIR/vpn.auth is missing or empty"
    (umask 077 && tr -d '\r' <"$QVM_DIR/vpn.auth" >"$dir/client.auth")
    chmod 600 "$dir/client.auth"
    awk -v auth="$OVPN_DIR/client.auth" '
      /^[ \t]*auth-user-pass([ \t]|$)/ { if (!done) print "auth-user-pass " auth; done = 1; next }
      { print }
      END { if (!done) print "auth-user-pass " auth }
    ' "$dir/client.conf.new" >"$dir/client.conf.tmp"
    mv -f "$dir/client.conf.tmp" "$dir/client.conf.new"
  else
    rm -f "$dir/client.auth"
    if grep -Eq '^[[:space:]]*auth-user-pass[[:space:]]*$' "$dir/client.conf.new"; then
      warn "the profile asks for a user name and password but this VM has no auth file; openvpn-client@client will not start"
    fi
  fi
  chmod 600 "$dir/client.conf.new"
  mv -f "$dir/client.conf.new" "$dir/client.conf"
  systemctl enable openvpn-client@client.service
}

# Only a warning: inside the installer the VPN is not up (the unit starts on
# the first boot), so an unreachable host must not fail the install.
check_vpn_host() {
  if [[ -z $VPN_CHECK_HOST ]]; then
    say "skipping the VPN check: VPN_CHECK_HOST is empty"
  elif ! have ping; then
    warn "ping is missing; not checking $VPN_CHECK_HOST"
  elif ping -c 3 -W 5 "$VPN_CHECK_HOST" >/dev/null 2>&1; then
    say "$VPN_CHECK_HOST answers a ping"
  else
    warn "$VPN_CHECK_HOST does not answer a ping (expected inside the installer; check again after the first boot)"
  fi
}

install_telegram() {
  if [[ -z $TELEGRAM_URL ]]; then
    say "skipping Telegram Desktop: TELEGRAM_URL is empty"
    return 0
  fi
  WORK_DIR="$(mktemp -d)"
  say "downloading Telegram Desktop from $TELEGRAM_URL"
  http_get "$TELEGRAM_URL" "$WORK_DIR/tsetup.tar.xz" || die "could not download $TELEGRAM_URL"

  # The tarball unpacks to Telegram/Telegram and Telegram/Updater. tar -o
  # drops the archive's owner (GNU and busybox tar alike).
  mkdir "$WORK_DIR/telegram"
  xz -dc "$WORK_DIR/tsetup.tar.xz" | tar -x -o -f - -C "$WORK_DIR/telegram" ||
    die "could not unpack $TELEGRAM_URL as a .tar.xz"
  [[ -x $WORK_DIR/telegram/Telegram/Telegram ]] || die "$TELEGRAM_URL has no Telegram/Telegram"
  rm -rf "$ROOT/opt/telegram"
  mkdir -p "$ROOT/opt" "$ROOT/usr/local/bin"
  mv "$WORK_DIR/telegram" "$ROOT/opt/telegram"
  chmod 755 "$ROOT/opt/telegram"
  ln -sfn "$TELEGRAM_BIN" "$ROOT/usr/local/bin/telegram-desktop"

  write_file "$ROOT/usr/share/applications/telegram-desktop.desktop" 644 <<EOF
[Desktop Entry]
Type=Application
Name=Telegram Desktop
Comment=Telegram messaging client
Exec=$TELEGRAM_BIN -- %u
Icon=telegram
Terminal=false
StartupWMClass=TelegramDesktop
Categories=Chat;Network;InstantMessaging;Qt;
MimeType=x-scheme-handler/tg;
EOF
}

mark_complete() {
  local flag="$ROOT$HOME_DIR/vm_setup_complete.flag"
  echo "qemu-vm-manager guest setup complete" >"$flag"
  chown "$USERNAME:" "$flag"
}

main() {
  start_log
  trap on_exit EXIT
  say "started $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  load_env "${1:-}"
  mark packages
  install_packages
  mark desktop
  ensure_user
  setup_vnc
  configure_gdm
  skip_welcome_wizard
  mark openvpn
  setup_openvpn
  check_vpn_host
  mark telegram
  install_telegram
  mark_complete
}

main "$@"
