package streamer_test

import (
	"fmt"

	"github.com/seastream/ss/streamer"
)

func ExampleParseURI() {
	for _, s := range []string{
		"file://./data/app.ss/orders,payments?create=true",
		"file:///var/lib/app.ss",
		"kafka://host1:9092,host2:9092/topic",
		"redis://localhost:6379/key",
		"stdio:///key1,key2",
	} {
		u, err := streamer.ParseURI(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s: nodes %q streams %q options %v\n", u.Scheme, u.Nodes, u.Streams, u.Query)
	}
	_, err := streamer.ParseURI("kafka://localhost:9092/bad key")
	fmt.Println(err)
	// Output:
	// file: nodes ["./data/app.ss"] streams ["orders" "payments"] options map[create:[true]]
	// file: nodes ["/var/lib/app.ss"] streams [] options map[]
	// kafka: nodes ["host1:9092" "host2:9092"] streams ["topic"] options map[]
	// redis: nodes ["localhost:6379"] streams ["key"] options map[]
	// stdio: nodes [] streams ["key1" "key2"] options map[]
	// streamer: invalid URI "kafka://localhost:9092/bad key": bad stream key in the last path segment: streamer: invalid stream key: use 1 to 249 characters of [A-Za-z0-9._-] (got "bad key")
}
