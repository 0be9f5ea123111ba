package testenv

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// RequireChromiumEnv, when set to 1, makes a missing Chromium fatal (CI).
const RequireChromiumEnv = "MXFLEET_TEST_REQUIRE_CHROMIUM"

// Chromium finds Debian's Chromium (.ci/run installs it), or
// $MXFLEET_CHROMIUM; without one the test is skipped, saying so, unless
// MXFLEET_TEST_REQUIRE_CHROMIUM=1.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, p := range []string{os.Getenv("MXFLEET_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv(RequireChromiumEnv) == "1" {
		t.Fatal("chromium not found and " + RequireChromiumEnv + "=1")
	}
	t.Skip("chromium not found (apt-get install chromium): the page in the browser is not checked")
	return ""
}

// Browser starts headless Chromium bin for the test (a minute at most).
func Browser(t testing.TB, bin string) context.Context {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.Headless,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.UserDataDir(t.TempDir()))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}
