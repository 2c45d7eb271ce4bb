// Package storetest holds what every test of a store.Store needs: [Run],
// the conformance suite each implementation must pass, and [StartRedis] and
// [RedisPrefix], which give a test a Redis server and a key prefix of its
// own, and [StartRedisProcess], a persistent server the test can stop and
// start again, for outage tests.
//
// StartRedis uses the server named by AIMABOT_TEST_REDIS_URL when it is set
// (scripts/test.sh starts one for the whole run) and otherwise starts a
// private redis-server from PATH on a free loopback port. StartRedisProcess
// always starts its own. A missing redis-server fails the test: it is never
// skipped.
package storetest
