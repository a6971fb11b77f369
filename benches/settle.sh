# Sourced by compare.sh, restic.sh and cloud.sh: `settle` makes every timed command start from
# the same memory state.
#
# On a VM whose balloon reports free pages to the host (virtio-balloon free page reporting,
# /sys/module/page_reporting), memory freed by a bench's `rm -rf` of the scratch area is handed
# back to the host within seconds, and whoever touches it next pays a host-side fault and
# zeroing per page. On the AMD EPYC VM `cp -r` of the large set took 2.0-2.8 s right after the
# rm and 5.0-5.9 s once the freed memory had been reported (benches/README.md, "Free page
# reporting"). Without waiting, a command timed right after a big rm (cp -r after a drill) got
# warm memory and one timed after a reading command (a drill after b3sum) got cold memory,
# which decided the ratio more than either tool did. So each clean-up waits until reporting
# has gone quiet, and every command starts cold. Where there is no such counter (bare metal,
# other hypervisors) it returns at once.
settle() {
    # The kernel reports 2 s after pages are freed (PAGE_REPORTING_DELAY), then again while
    # more are free: quiet means the counter has not moved for 3 s. At most ~20 s.
    local counter=/sys/module/page_reporting/parameters/reported_kib last now quiet=0
    [ -r "$counter" ] || return 0
    last=$(cat "$counter")
    for _ in $(seq 80); do
        sleep 0.25
        now=$(cat "$counter")
        if [ "$now" = "$last" ]; then quiet=$((quiet + 1)); else quiet=0; fi
        [ "$quiet" -ge 12 ] && return 0
        last=$now
    done
}
