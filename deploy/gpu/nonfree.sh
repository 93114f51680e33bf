# shellcheck shell=bash
# deploy/gpu/nonfree.sh: sourced by toolchain.sh and driverlib.sh (which
# define log and die).
#
# nonfree_download WORK PKG...: downloads the .debs of PKG... from Debian
# bookworm's non-free component into WORK/debs, with a private apt
# configuration under WORK/apt: a sources file for non-free on the
# machine's Debian mirror (the first non-security .../debian URI of its apt
# sources, else deb.debian.org; RINGTRAIN_DEBIAN_MIRROR overrides), package
# lists in WORK. The machine's apt sources and state are not touched.
# Sets mirror (the URI used).
# apt's output goes to stderr (callers may print results on stdout).
nonfree_download() {
	local work=$1
	shift
	mirror=${RINGTRAIN_DEBIAN_MIRROR:-} # also read by the caller
	if [ -z "$mirror" ]; then
		mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
			awk '$1 == "URIs:" { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }')
	fi
	if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
		mirror=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\/.*\/debian\/?$/) { print $i; exit } }' /etc/apt/sources.list)
	fi
	mirror=${mirror:-http://deb.debian.org/debian}
	local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
	[ -f "$keyring" ] || die "$keyring not found (apt-get install debian-archive-keyring)"
	local apt="$work/apt"
	mkdir -p "$apt/sources.list.d" "$apt/lists/partial" "$apt/cache/archives/partial" "$work/debs"
	: >"$apt/sources.list"
	cat >"$apt/sources.list.d/ringtrain-nonfree.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: bookworm
Components: non-free
Architectures: amd64
Signed-By: $keyring
SOURCES
	local aptopts=(
		-qq
		-o "Dir::Etc::SourceList=$apt/sources.list"
		-o "Dir::Etc::SourceParts=$apt/sources.list.d"
		-o "Dir::State::Lists=$apt/lists"
		-o "Dir::Cache=$apt/cache"
		-o "APT::Sandbox::User=root"
		-o "Acquire::Languages=none"
	)
	log "downloading $* (bookworm non-free, $mirror)"
	apt-get "${aptopts[@]}" update >&2 || die "apt-get update of bookworm non-free from $mirror failed"
	(cd "$work/debs" && apt-get "${aptopts[@]}" download "$@" >&2) || die "apt-get download $* failed"
}
