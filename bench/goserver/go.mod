module steward/bench/goserver

go 1.19
