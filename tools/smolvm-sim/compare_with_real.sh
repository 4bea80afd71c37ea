#!/bin/bash
# cmp.sh BIN: runs a fixed command list against BIN in a fresh HOME; prints normalised output
S=$1; H=$(mktemp -d); export HOME=$H; cd $H
run(){ "$@" >o 2>e; rc=$?; echo "\$ ${*:2}"; sed 's/^/ out| /' o; grep -v "^note: no packed" e | sed 's/^/ err| /'; echo " rc=$rc"; }
q(){ echo " row: $(sqlite3 $H/.local/share/smolvm/server/smolvm.db "select json_extract(data,'$.allowed_cidrs')||' net='||json_extract(data,'$.network')||' st='||json_extract(data,'$.state') from vms where name='$1'")"; }
run $S machine create -n t1 --cpus 1 --mem 512 --allow-cidr 127.0.0.16/32
run $S machine create -n t1
run $S machine create -n 'bad name'
run $S machine create -n ''
run $S machine create -n a/b
run $S machine create -n t2 --cpus 0
run $S machine create -n t3 --mem 63
run $S machine create -n t8 --cpus 300
run $S machine create -n t9 --allow-cidr 300.0.0.1/32
run $S machine create -n t9 --allow-cidr 10.0.0.1
run $S machine create -n t7 --image alpine
SMOLVM_MACHINE_NAME=envname run $S machine create
run $S machine data-dir -n t1
run $S machine data-dir -n nope
run $S machine data-dir
run $S machine start -n nope
run $S machine stop -n nope
run $S machine stop -n t1
run $S machine delete -f -n nope
run $S machine delete -n nope
run $S machine delete
run $S machine status -n t1
run $S machine status -n nope
run $S machine status --json -n nope
run $S machine status
SMOLVM_MACHINE_NAME=t1 run $S machine status
run $S machine update -n u1 --allow-cidr 1.1.1.1/32
run $S machine create -n u1 --allow-cidr 127.0.0.16/32
run $S machine update -n u1 --allow-cidr 10.0.0.0/8; q u1
run $S machine update -n u1 --allow-cidr 10.0.0.0/8; q u1
run $S machine update -n u1 --remove-allow-cidr 10.0.0.0/8; q u1
run $S machine update -n u1 --remove-allow-cidr 10.9.9.9/32; q u1
run $S machine update -n u1 --remove-allow-cidr 127.0.0.16/32; q u1
run $S machine update -n u1 --allow-cidr 1.2.3.4; q u1
run $S machine update -n u1 --no-net; q u1
run $S machine update -n u1 --net; q u1
run $S machine update -n u1 --reset-allow-list --allow-cidr 5.5.5.5/32; q u1
run $S machine update -n u1 --reset-allow-list; q u1
run $S machine update -n u1 --outbound-localhost-only; q u1
run $S machine update -n u1; q u1
run $S machine update -n u1 --cpus 2 --mem 1024; q u1
run $S machine update -n u1 --remove-allow-cidr 5.5.5.5/32 --remove-allow-cidr 127.0.0.0/8 --remove-allow-cidr ::1/128 --net; q u1
run $S machine update --allow-cidr 1.1.1.1/32
run $S machine update -n u1 --net --no-net
run $S machine update -n u1 --allow-cidr 1.1.1.1/32 --no-net
run $S machine update -n u1 --allow-cidr bogus
run $S machine update -n u1 --remove-allow-cidr bogus
run $S machine delete -f -n t1
run $S machine ls
run $S machine ls --json
ls $H/.cache/smolvm/vms 2>&1 | sed 's/^/ vmdir| /'
