package model

import "fmt"

// guard runs f and turns a panic inside gorgonia (it panics on some
// internal errors, e.g. in NewTapeMachine) into an error wrapping
// ErrBackend, so no input ever crashes the caller.
func guard(what string, f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %s: gorgonia panicked: %v", ErrBackend, what, r)
		}
	}()
	if err := f(); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrBackend, what, err)
	}
	return nil
}
