#!/bin/sh
# upper-worker.sh: a persistent job command for `worker --pipe` in sh and
# jq (worker(8), "Pipe workers"): each job line {"id","payload","attempt"}
# in, {"id","result"} out with the payload upper-cased (ASCII letters), or
# {"id","error"} when the payload cannot be decoded as text. --unbuffered:
# each answer must leave at once, not when a buffer fills.
#
# Run: worker --pipe /path/to/upper-worker.sh
exec jq -c --unbuffered '. as $job
    | try {id: $job.id, result: ($job.payload | @base64d | ascii_upcase | @base64)}
      catch {id: $job.id, error: "cannot upper-case it: not text"}'
