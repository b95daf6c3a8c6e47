package pools

// go: no pool at all, one new goroutine per task (Size is ignored).
func init() { register("go", newRawGo) }

type rawGo struct{}

func newRawGo(Config) (Pool, error) { return rawGo{}, nil }

func (rawGo) Submitter(task func()) func() { return func() { go task() } }

// Close has nothing to release: the harness waits for the tasks.
func (rawGo) Close() {}
