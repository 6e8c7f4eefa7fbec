// Package allbackends links every streamer backend into a command: importing
// it registers the file://, stdio://, kafka:// and redis:// schemes with package
// streamer's default Mux.
package allbackends

import (
	_ "github.com/seastream/ss/adapters/kafka" // kafka://
	_ "github.com/seastream/ss/adapters/redis" // redis://
	_ "github.com/seastream/ss/adapters/stdio" // stdio://
	"github.com/seastream/ss/streamer"
	"github.com/seastream/ss/streamer/filedriver"
)

func init() {
	// Package streamer is to register file:// itself; until it does, do it
	// here.
	if !streamer.DefaultMux().ValidScheme("file") {
		streamer.Register("file", filedriver.Driver{})
	}
}
