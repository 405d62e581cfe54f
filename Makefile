# SPDX-License-Identifier: GPL-2.0
#
# hostclock: user-facing targets. kbuild itself reads ./Kbuild.
#
#   make               build hostclock.ko against KDIR, with W=1
#   make test          install what is missing, then every test below
#   make tools         hostclockd, hostclockctl, hostclock-dump in build/tools
#   make install-tools install them, the systemd unit and the admin guide
#                      (PREFIX=/usr/local, DESTDIR for staging)
#   make check         userspace tests: core and agent (ASan, UBSan), host tools
#   make kunit         KUnit suites on UML, from linux-source-6.1
#   make fuzz          libFuzzer targets (ASan, UBSan), 10 million runs each
#   make fuzz-quick    the same, all targets within a minute
#   make lint          checkpatch --strict and sparse
#   make modules-all   build for each kernel line (5.10, 6.1, 6.12, 7.x), W=1
#   make dkms-check    dkms add/build/install/uninstall for each kernel line
#   make guest-test    QEMU (TCG) guests of each kernel line run the scenarios
#   make test-debug    scenarios on a KASAN/lockdep guest kernel, KUnit with KASAN
#   make demo          the main job: agent, guest, chrony on hostclock, live
#                      migration to a second QEMU and agent
#   make bench-reader  the userspace reader against clock_gettime()
#   make deb           Debian packages hostclock-dkms and hostclockd, lintian
#   make deb-test      install, upgrade, purge them in bookworm, bullseye, trixie
#   make libvirt-test  a libvirt TCG domain with its agent from the hook
#   make monitoring-test  Prometheus metrics of agent and guest with node_exporter
#                      and promtool (not part of make test)
#
# KDIR defaults to the running kernel's build directory; when that has no
# headers (as on a build machine running another kernel), to the newest
# Debian linux-headers-*-amd64 installed. Choose one with, e.g.,
#   make KDIR=/usr/src/linux-headers-6.1.0-50-amd64

KVER ?= $(shell uname -r)
ifeq ($(origin KDIR),undefined)
KDIR := $(wildcard /lib/modules/$(KVER)/build)
ifeq ($(KDIR),)
KDIR := $(shell ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -n 1)
KDIR_NOTE := no headers for the running kernel $(KVER); using $(KDIR)
endif
endif

BUILD ?= $(CURDIR)/build
CC_USER ?= gcc
USER_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	-fsanitize=address,undefined -fno-sanitize-recover=all -pthread \
	-Iinclude -Itests/common
CORE_SRCS := $(wildcard drivers/hostclock/core/*.c)
CORE_HDRS := $(wildcard include/hostclock/*.h)
UNIT_SRCS := $(wildcard tests/unit/*.c) $(wildcard tests/common/*.c)
UNIT_HDRS := $(wildcard tests/unit/*.h) $(wildcard tests/common/*.h)
# before the rules that list them: prerequisites expand where they are read
AGENT_SRCS := $(filter-out %/main.c %/hostclockctl.c %/dump.c, \
	$(wildcard tools/hostclockd/*.c))
AGENT_HDRS := $(wildcard tools/hostclockd/*.h)

.PHONY: all module tools clean distclean check kunit lint modules-all dkms-check \
	guest-test test deps demo install-tools testbins bench-reader bench bench-quick \
	fuzz fuzz-quick test-debug monitoring-test deb deb-test libvirt-test

all: module

module:
	@test -n "$(KDIR)" || { echo "no kernel headers: run scripts/install-deps.sh build" >&2; exit 1; }
	$(if $(KDIR_NOTE),@echo "KDIR: $(KDIR_NOTE)")
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 modules

$(BUILD)/unit/hostclock-unit: $(CORE_SRCS) $(UNIT_SRCS) $(CORE_HDRS) $(UNIT_HDRS) \
		$(AGENT_SRCS) $(AGENT_HDRS)
	@mkdir -p $(dir $@)
	$(CC_USER) $(USER_CFLAGS) -D_GNU_SOURCE -Itools/hostclockd -o $@ \
		$(CORE_SRCS) $(AGENT_SRCS) $(UNIT_SRCS) -lm

# Host tools: plain C on libc, sharing the core with the module.
TOOL_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	-D_GNU_SOURCE -Iinclude -Itools/hostclockd
TOOLS := $(BUILD)/tools/hostclockd $(BUILD)/tools/hostclockctl \
	$(BUILD)/tools/hostclock-dump

tools: $(TOOLS)

$(BUILD)/tools/hostclockd: tools/hostclockd/main.c $(AGENT_SRCS) $(CORE_SRCS) \
		$(CORE_HDRS) $(AGENT_HDRS)
	@mkdir -p $(dir $@)
	$(CC_USER) $(TOOL_CFLAGS) -o $@ tools/hostclockd/main.c $(AGENT_SRCS) $(CORE_SRCS) -lm

$(BUILD)/tools/hostclockctl: tools/hostclockd/hostclockctl.c
	@mkdir -p $(dir $@)
	$(CC_USER) $(TOOL_CFLAGS) -o $@ $<

$(BUILD)/tools/hostclock-dump: tools/hostclockd/dump.c $(CORE_SRCS) $(CORE_HDRS) \
		$(AGENT_HDRS)
	@mkdir -p $(dir $@)
	$(CC_USER) $(TOOL_CFLAGS) -o $@ tools/hostclockd/dump.c $(CORE_SRCS)

# The unit's paths follow PREFIX; systemd also reads /usr/local/lib/systemd.
PREFIX ?= /usr/local
install-tools: $(TOOLS)
	install -D -m 0755 $(BUILD)/tools/hostclockd $(DESTDIR)$(PREFIX)/sbin/hostclockd
	install -D -m 0755 $(BUILD)/tools/hostclockctl $(DESTDIR)$(PREFIX)/sbin/hostclockctl
	install -D -m 0755 $(BUILD)/tools/hostclock-dump $(DESTDIR)$(PREFIX)/bin/hostclock-dump
	install -D -m 0644 Documentation/hostclockd.md \
		$(DESTDIR)$(PREFIX)/share/doc/hostclock/hostclockd.md
	mkdir -p $(DESTDIR)$(PREFIX)/lib/systemd/system
	sed 's|/usr/local/|$(PREFIX)/|g' tools/systemd/hostclockd@.service \
		>$(DESTDIR)$(PREFIX)/lib/systemd/system/hostclockd@.service

# Test programs for the QEMU scenarios: guest ones static (busybox guests).
CMP_DIR := tests/integration/compare
TESTBINS := $(BUILD)/test/hc-compare $(BUILD)/test/hc-ptp-check \
	$(BUILD)/test/hc-compare-host $(BUILD)/test/hc-dev-check \
	$(BUILD)/test/hc-uevent $(BUILD)/test/hc-readcost $(BUILD)/test/hc-hammer
testbins: $(TESTBINS)

$(BUILD)/test/hc-hammer: $(CMP_DIR)/hammer.c
	@mkdir -p $(dir $@)
	$(CC_USER) -O2 -Wall -Wextra -Werror -static -D_GNU_SOURCE -pthread -o $@ $<

$(BUILD)/test/hc-readcost: tests/bench/readcost.c tests/bench/bench.h
	@mkdir -p $(dir $@)
	$(CC_USER) -O2 -Wall -Wextra -Werror -static -o $@ $<

$(BUILD)/test/hc-compare: $(CMP_DIR)/guest.c $(CMP_DIR)/compare.h
	@mkdir -p $(dir $@)
	$(CC_USER) -O2 -Wall -Wextra -Werror -static -o $@ $<

$(BUILD)/test/hc-ptp-check: $(CMP_DIR)/ptpcheck.c
	@mkdir -p $(dir $@)
	$(CC_USER) -O2 -Wall -Wextra -Werror -static -D_GNU_SOURCE -o $@ $<

$(BUILD)/test/hc-dev-check: $(CMP_DIR)/devcheck.c
	@mkdir -p $(dir $@)
	$(CC_USER) -O2 -Wall -Wextra -Werror -static -D_GNU_SOURCE -o $@ $<

$(BUILD)/test/hc-uevent: $(CMP_DIR)/uevent.c
	@mkdir -p $(dir $@)
	$(CC_USER) -O2 -Wall -Wextra -Werror -static -o $@ $<

$(BUILD)/test/hc-compare-host: $(CMP_DIR)/host.c $(CMP_DIR)/compare.h
	@mkdir -p $(dir $@)
	$(CC_USER) -O2 -Wall -Wextra -Werror -o $@ $<

$(BUILD)/bench/hc-steplat: tests/bench/steplat.c tests/bench/bench.h include/hostclock/vmclock_abi.h
	@mkdir -p $(dir $@)
	$(CC_USER) -O2 -Wall -Wextra -Werror -Iinclude -o $@ $<

$(BUILD)/bench/reader-bench: tests/bench/reader-bench.c tests/bench/bench.h include/hostclock/reader.h
	@mkdir -p $(dir $@)
	$(CC_USER) -O2 -Wall -Wextra -Werror -Iinclude -o $@ $<

# The userspace reader against clock_gettime() on this machine.
bench-reader:
	scripts/bench-reader.sh

# Accuracy and cost against NTP, with plots (Documentation/performance.md);
# the quick one checks that every figure is produced.
bench:
	scripts/bench.sh

bench-quick:
	scripts/bench.sh --quick

check: $(BUILD)/unit/hostclock-unit $(TOOLS)
	$(BUILD)/unit/hostclock-unit
	tests/tools/run.sh $(BUILD)

kunit:
	scripts/kunit.sh

fuzz:
	scripts/fuzz.sh

fuzz-quick:
	scripts/fuzz.sh --quick

# hostclockd --metrics-dir and the guest exporter through node_exporter;
# the alerting rules with promtool (Documentation/monitoring.md)
monitoring-test: $(TOOLS) $(TESTBINS)
	scripts/monitoring-test.sh

lint:
	scripts/lint.sh

modules-all:
	scripts/build-modules.sh

dkms-check:
	scripts/dkms-check.sh

guest-test: $(TOOLS) $(TESTBINS)
	tests/integration/run.sh

# A debug guest kernel (KASAN, lockdep, full preemption) runs the
# lifecycle, faults, observability and chrony-switch scenarios, and KUnit
# runs on UML with KASAN (Documentation/testing.md#the-debug-kernel)
test-debug: $(TOOLS) $(TESTBINS)
	scripts/install-deps.sh build qemu guest kunit debug
	scripts/test-debug.sh

deps:
	scripts/install-deps.sh

deb:
	scripts/deb.sh

deb-test:
	scripts/deb-test.sh

libvirt-test:
	scripts/libvirt-test.sh

# The README's test command: everything, installing what is missing first.
test: deps
	$(MAKE) check
	$(MAKE) kunit
	$(MAKE) fuzz-quick
	$(MAKE) lint
	$(MAKE) modules-all
	$(MAKE) dkms-check
	$(MAKE) deb-test
	$(MAKE) libvirt-test
	$(MAKE) monitoring-test
	$(MAKE) guest-test
	$(MAKE) bench-quick

demo:
	scripts/demo.sh

# clean keeps what is slow to fetch or unpack (linux-source; the chroots,
# downloads and guest kernels live in /var/cache/hostclock);
# distclean removes all of build/.
clean:
	-test -z "$(KDIR)" || $(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -rf $(BUILD)/unit $(BUILD)/modules $(BUILD)/sparse $(BUILD)/guest \
		$(BUILD)/tools .kfeatures-*

distclean: clean
	rm -rf $(BUILD)
