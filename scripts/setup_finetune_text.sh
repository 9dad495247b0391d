#!/bin/sh
# Makes sure apt's package lists are present for examples/finetune_text (which reads
# `apt-cache dumpavail`): runs `apt-get update` when /var/lib/apt/lists holds no Packages file.
set -e
if ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then
    echo "apt package lists present: $(apt-cache dumpavail | grep -c '^Package: ') package stanzas"
else
    echo "no apt package lists in /var/lib/apt/lists: running apt-get update"
    if [ "$(id -u)" -eq 0 ]; then apt-get update; else sudo apt-get update; fi
fi
