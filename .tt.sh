#!/bin/bash
s=$(date +%s.%N); /bin/sh "$@"; rc=$?; e=$(date +%s.%N)
echo "TIME $(echo "$e - $s" | bc) :: ${2:0:160}" >&2
exit $rc
