// Package archtest checks the layering of ARCHITECTURE.md: which packages of
// this module each package may import, and that the core links no Kafka or
// Redis client.
package archtest
