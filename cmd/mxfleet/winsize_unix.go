//go:build linux || darwin

package main

import (
	"os"
	"syscall"
	"unsafe"
)

// canAskWinsize: winsizeCols asks the terminal here.
const canAskWinsize = true

// winsizeCols asks the terminal f for its width in columns; 0 when f is
// not a terminal.
func winsizeCols(f *os.File) int {
	var ws struct{ Row, Col, X, Y uint16 }
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), uintptr(syscall.TIOCGWINSZ), uintptr(unsafe.Pointer(&ws))); errno != 0 {
		return 0
	}
	return int(ws.Col)
}
