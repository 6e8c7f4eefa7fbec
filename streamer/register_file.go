package streamer

import "github.com/seastream/ss/streamer/filedriver"

// The file backend is built in: file:// URIs work in every program that
// imports package streamer, with no other import. This registration is the
// only init side effect of the package.
func init() {
	Register(filedriver.Scheme, filedriver.Driver{})
}
