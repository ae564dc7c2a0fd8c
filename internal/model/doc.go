// Package model is a model test of peapod's pure decisions (internal/nodehealth, internal/plan and
// internal/migration): a small simulated cluster (nodes that go silent, come back, are fenced, cordoned; a
// scheduler; kubelets; Kubernetes' taint eviction and PodGC; `kubectl drain` evicting through the disruption
// budget), a controller that composes the real pure functions the way controllers/podgroup_sync.go and
// controllers/migrations.go do, on caches that lag and across manager restarts, and random event sequences
// (pgregory.net/rapid) with the safety invariants checked after every step. It has no code of its own outside
// its tests: see model_test.go.
package model
