package main

import (
	"runtime/debug"
)

// version names the cert-manager module this binary was built from (what the install script checks).
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "cert-manager unknown"
	}
	for _, d := range info.Deps {
		if d.Path == "github.com/cert-manager/cert-manager" {
			if d.Replace != nil {
				return "cert-manager " + d.Replace.Version
			}
			return "cert-manager " + d.Version
		}
	}
	return "cert-manager unknown"
}
