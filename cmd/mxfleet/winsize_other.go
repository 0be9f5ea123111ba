//go:build !linux && !darwin

package main

import "os"

// canAskWinsize: winsizeCols knows nothing here.
const canAskWinsize = false

// winsizeCols: terminal sizes are asked on Linux and macOS only.
func winsizeCols(*os.File) int { return 0 }
