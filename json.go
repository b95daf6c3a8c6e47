package threadpool

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
)

// persisted is the saved form of a pool (Twisted's __getstate__).
type persisted struct {
	Min  *int   `json:"min"`
	Max  *int   `json:"max"`
	Name string `json:"name"`
}

// MarshalJSON saves the pool's settings: {"min":7,"max":20,"name":"db"}.
// Work, workers and counters are not saved.
func (p *Pool) MarshalJSON() ([]byte, error) {
	min, max, name := p.t.Settings()
	return json.Marshal(persisted{Min: &min, Max: &max, Name: name})
}

// UnmarshalJSON restores settings saved by [Pool.MarshalJSON] (Twisted's
// __setstate__, which keeps min and max; the name is kept too). Into a zero
// Pool it makes a fresh pool with those settings and default options, not
// started, as [New] would. Into a pool that is not started it replaces min,
// max and the name and keeps the rest (options, waiting work, counters). A
// JSON null leaves p as it is (encoding/json's convention). A
// missing min or max is an error, so is a size [New] would refuse (wrapping
// [ErrInvalidSize]), and so is unmarshalling into a started or stopping pool.
func (p *Pool) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		return nil // encoding/json's convention: null leaves the value as it is
	}
	var v persisted
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("threadpool: UnmarshalJSON: %w", err)
	}
	if v.Min == nil || v.Max == nil {
		return errors.New(`threadpool: UnmarshalJSON: "min" and "max" are required`)
	}
	if err := checkSize(*v.Min, *v.Max); err != nil {
		return err
	}
	if p.t == nil {
		fresh, err := New(*v.Min, *v.Max, WithName(v.Name), WithLogger(slog.Default()))
		if err != nil {
			return err
		}
		p.t = fresh.t // fresh's own methods (its Fault hook) share this team: they read only fresh.t
		return nil
	}
	lbl := "" // an unchanged name keeps the label, so worker names stay
	if v.Name != p.t.Name() {
		lbl = label(v.Name)
	}
	if !p.t.Reconfigure(*v.Min, *v.Max, v.Name, lbl) {
		return errors.New("threadpool: UnmarshalJSON: the pool is started; stop it first")
	}
	return nil
}
