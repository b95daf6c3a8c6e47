// Package schedmodel is the pool's scheduling rules as a small state
// machine: the oracle of the two model-based tests, the root's
// model_real_test.go (the real pool, in a synctest bubble) and
// threadpooltest/model_test.go (the in-memory double). It is written from
// docs/contract.md (section 2: A4-A6, B, D, E, H) and the package
// documentation, not from internal/team: a plain FIFO pool of integer
// counts and task ids.
//
// A [Model] holds the sizes, the idle and busy workers (a busy worker is
// known by the id of its task), the FIFO backlog, the pending shrink
// requests and the counters; its methods are the transitions both tests
// apply, and [Model.Stats] is the threadpool.Stats the pool must report.
// What only one test can observe stays in that test, on top of a Model:
// the real pool's model which Stop returns when (stop generations) and each
// task's fate; the double's model the run order, callbacks, Futures and log
// records.
//
// The rules:
//   - a new task goes to an idle worker, else to a new worker while
//     workers < max, else to the back of the backlog; a task never
//     overtakes the backlog (A4, A6); before Start everything waits (B1);
//   - a worker that finishes: above max → quits (and pays one shrink
//     request); else takes the oldest backlogged task; else pays a shrink
//     request by quitting; else quits if stopping; else goes idle;
//   - StopAWorker: quit an idle worker now, else one more shrink request,
//     never more requests than busy workers (D4); StartAWorker: one idle
//     worker below max (D4); nothing on a never-started pool; ErrStopped
//     once a stop began;
//   - AdjustPoolSize: idle workers above max quit, the backlog goes to idle
//     and new workers up to max (D3), the pool grows to min, and shrink
//     requests are clamped so they cannot take the pool below min nor
//     outnumber the busy workers (D2);
//   - Start: the backlog to new workers up to max, then idle ones up to min
//     (B2); Start during a draining stop fails with ErrStopped;
//   - Stop: refuse new work, quit idle workers now, busy ones when the
//     backlog is empty; on a never-started pool, or when no worker can ever
//     reach the backlog (max 0), the backlog is canceled (E6); StopNow
//     cancels the backlog at once and returns how many it dropped (E5);
//   - a task whose context has ended is canceled as soon as it waits, and
//     skipped (counted canceled) by a worker it was handed to.
//
// The package imports only the standard library and is imported only by
// test files: the pool's users never compile it.
package schedmodel
