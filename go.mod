module github.com/twisted-go/threadpool

go 1.25
