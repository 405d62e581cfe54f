# SPDX-License-Identifier: GPL-2.0
#
# Helpers sourced by hostclock's scripts.

# The files a kbuild M= build of hostclock.ko needs.
HC_MODULE_FILES=(Kbuild Makefile dkms.conf drivers include scripts/kfeatures.sh)

# hc_stage_sources TOP DIR: a fresh copy of the module's sources in DIR, so
# that builds for different kernels never share objects.
hc_stage_sources() {
	local top=$1 dir=$2 f

	rm -rf "$dir"
	mkdir -p "$dir"
	for f in "${HC_MODULE_FILES[@]}"; do
		mkdir -p "$dir/$(dirname "$f")"
		cp -a "$top/$f" "$dir/$f"
	done
}

# hc_kver KDIR: the kernel release a /usr/src/linux-headers-* directory is for.
hc_kver() {
	echo "${1#/usr/src/linux-headers-}"
}
