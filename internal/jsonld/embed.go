package jsonld

import (
	"embed"
	"encoding/csv"
	"fmt"
	"path"
	"strings"
)

// contextFS holds the NGSI-LD core contexts and the Smart Data Models / FIWARE
// contexts, byte for byte as published (see contexts/SOURCES.md for sources
// and licences).
//
//go:embed contexts/*.jsonld contexts/smart-data-models/*.jsonld contexts/fiware-tutorials/*.jsonld contexts/context-url-map.csv contexts/SOURCES.md
var contextFS embed.FS

// coreFiles maps each versioned core context URL to its embedded file.
var coreFiles = map[string]string{
	CoreV13: "ngsi-ld-core-context-v1.3.jsonld",
	CoreV16: "ngsi-ld-core-context-v1.6.jsonld",
	CoreV17: "ngsi-ld-core-context-v1.7.jsonld",
	CoreV18: "ngsi-ld-core-context-v1.8.jsonld",
	CoreV19: "ngsi-ld-core-context-v1.9.jsonld",
}

// embeddedFiles reads context-url-map.csv and returns the embedded file of
// every URL it names, under both its http and https form. The versionless
// core URL maps to defaultCore's file.
func embeddedFiles(defaultCore string) (map[string]string, error) {
	f, err := contextFS.Open("contexts/context-url-map.csv")
	if err != nil {
		return nil, fmt.Errorf("open url map: %w", err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("read url map: %w", err)
	}
	files := map[string]string{}
	for i, row := range rows {
		if i == 0 || len(row) < 2 {
			continue
		}
		u, file := strings.TrimSpace(row[0]), strings.TrimSpace(row[1])
		if u == CoreVersionless {
			file = coreFiles[defaultCore]
		}
		name := path.Join("contexts", file)
		if _, err := contextFS.Open(name); err != nil {
			return nil, fmt.Errorf("url map row %d: %w", i+1, err)
		}
		for _, v := range urlVariants(u) {
			files[v] = name
		}
	}
	return files, nil
}

// urlVariants returns u with the http and the https scheme.
func urlVariants(u string) []string {
	switch {
	case strings.HasPrefix(u, "https://"):
		return []string{u, "http://" + u[len("https://"):]}
	case strings.HasPrefix(u, "http://"):
		return []string{u, "https://" + u[len("http://"):]}
	}
	return []string{u}
}

// isCoreURL reports whether u names an NGSI-LD core context Qala knows (any
// embedded version or the versionless URL, http or https). Other URLs under
// uri.etsi.org are fetched like any context (and fail offline: ETSI TP 043_01).
func isCoreURL(u string) bool {
	u = "https://" + strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
	if u == CoreVersionless {
		return true
	}
	_, ok := coreFiles[u]
	return ok
}
