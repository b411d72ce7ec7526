#!/bin/sh
# A non-Python workload: its stdout and stderr are sealed line by line.
echo "backup: copying 3 volumes"
echo "backup: volume data-2 is read-only, skipping" >&2
echo "backup: done"
