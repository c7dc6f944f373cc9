#!/bin/sh
# listener-renew.sh: the ACME listener renews its self-issued certificate
# when two thirds of its remaining life have passed, not without pause.
#
# The profile issues 6 s certificates and notBefore is backdated by the
# default 5 minutes, though never before the intermediate's own notBefore.
# The renewal time used to be counted from the backdated notBefore, which
# put it in the past once the backdate (here: the intermediate's age) was
# over twice the lifetime: the listener renewed (issued, logged and
# restarted) in a loop. So mayflyd starts once the intermediate is 14 s
# old. Checked, on events rather than durations:
#  - the first renewal comes at least 2 s after the listener is up, and the
#    second at least 2 s after the first (two thirds of 6 s is 4 s);
#  - exactly two renewals are logged when the second is seen;
#  - the directory is served over TLS with the mayfly root after them.
set -eu

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
for t in openssl curl; do
	command -v $t >/dev/null 2>&1 || { echo "listener-renew.sh: $t is not installed" >&2; exit 1; }
done

LOGTAIL=30
. "$top_srcdir/tests/mayflyd/lib.sh"
mfdt_tempdir listener-renew

ca=$work/ca
mfdt_init_ca "$ca" --dns .acme.test --dns localhost
y=$ca/mayfly.yaml
sed -i '0,/^    default-lifetime: 24h$/s//    default-lifetime: 6s/' "$y"
grep -q '^    default-lifetime: 6s$' "$y" && grep -q '^  backdate: 5m$' "$y" ||
	fail "cannot adapt the generated mayfly.yaml"
cat >> "$y" <<EOT
acme:
  host: 127.0.0.1
  port: 0
EOT
root=$ca/certs/root-a.pem
inb=$(date -d "$(openssl x509 -noout -startdate -in "$ca/certs/issuing-1.pem" | sed 's/^notBefore=//')" +%s)
[ -n "$inb" ] || fail "cannot read the intermediate's notBefore"
ca_older() { [ "$(date +%s)" -ge $((inb + 14)) ]; }
wait_until 60 "the clock did not pass the intermediate's notBefore + 14 s" ca_older

"$top_builddir/mayflyd" -c "$y" >"$work/d.log" 2>&1 &
dpid=$!
AP=$(bound_port acme)
up=$(date +%s)
ok "mayflyd: ACME on $AP with a self-issued 6 s certificate, the intermediate $(( $(date +%s) - inb )) s old"

renewals() { grep -c 'listener certificate renewed' "$work/d.log" || true; }
renewed() { [ "$(renewals)" -ge "$1" ]; }
wait_until 60 "the listener certificate was not renewed" renewed 1
t1=$(date +%s)
[ $((t1 - up)) -ge 2 ] || fail "first renewal $((t1 - up)) s after start: too early"
wait_until 60 "the listener certificate was not renewed a second time" renewed 2
t2=$(date +%s)
n=$(renewals)
[ "$n" -eq 2 ] || fail "$n renewals logged when the second was seen: renewing without pause"
[ $((t2 - t1)) -ge 2 ] || fail "second renewal $((t2 - t1)) s after the first: too early"
ok "renewed $((t1 - up)) s after start and $((t2 - t1)) s later"

curl -sS --max-time 10 --cacert "$root" -o "$work/dir.json" "https://127.0.0.1:$AP/directory" \
	2>"$work/curl.err" || fail_file "$work/curl.err" "the directory over TLS after the renewals"
grep -q newNonce "$work/dir.json" || fail_file "$work/dir.json" "no newNonce in the directory"
ok "directory served over TLS with the renewed certificate"
