module steward/bench/loadgen

go 1.19
