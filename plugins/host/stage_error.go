package host

import (
	"errors"
	"fmt"
)

// StageError is why NewChain could not load one stage: Index is the stage's
// position in the chain and Field the key of its configuration at fault
// ("module", "config", "clock", "on_error", "limits.memory_pages"), "" when
// no single key is.
type StageError struct {
	Index int
	Name  string
	Field string
	Err   error
}

func (e *StageError) Error() string {
	return fmt.Sprintf("plugin stage %d (%s): %v", e.Index, e.Name, e.Err)
}

func (e *StageError) Unwrap() error { return e.Err }

// fieldError tags an error of newStage with the configuration key at fault.
type fieldError struct {
	field string
	err   error
}

func (e *fieldError) Error() string { return e.err.Error() }
func (e *fieldError) Unwrap() error { return e.err }

func inField(field string, err error) error {
	if err == nil {
		return nil
	}
	return &fieldError{field: field, err: err}
}

// stageError wraps err, from loading stage i, as a *StageError.
func stageError(i int, name string, err error) error {
	se := &StageError{Index: i, Name: name, Err: err}
	var fe *fieldError
	if errors.As(err, &fe) {
		se.Field = fe.field
	}
	return se
}
