//go:build !linux

package main

import "syscall"

// childAttr: Pdeathsig is Linux-only; elsewhere the deferred stops are
// all that end child processes.
func childAttr() *syscall.SysProcAttr { return nil }
