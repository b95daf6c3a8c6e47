package pools

import "github.com/twisted-go/threadpool"

// threadpool-osthreads is threadpool with WithOSThreads: each worker locked
// to an OS thread of its own. The difference with threadpool is what the
// option costs per task: a thread switch for each hand-over to an idle
// worker, and the check after each task that its thread is still locked.
func init() {
	register("threadpool-osthreads", func(cfg Config) (Pool, error) {
		return newThreadpool(cfg, threadpool.WithOSThreads())
	})
}
