package main

import "syscall"

// childAttr makes the kernel kill a child process (redis-server, the
// worker) when the harness dies without stopping it (a panic, SIGKILL):
// nothing is left behind.
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
