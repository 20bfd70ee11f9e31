package storage

import (
	"os"
	"sync/atomic"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// quietWhenClosing drops etcd's log entries once shutdown has begun: etcd
// reports its own listeners closing as errors, which would only alarm users.
type quietWhenClosing struct {
	zapcore.Core
	closing *atomic.Bool
}

func (c quietWhenClosing) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.closing.Load() {
		return ce
	}
	return c.Core.Check(e, ce)
}

func (c quietWhenClosing) With(fields []zapcore.Field) zapcore.Core {
	return quietWhenClosing{Core: c.Core.With(fields), closing: c.closing}
}

// etcdLogger logs etcd's errors to stderr as JSON until closing is set.
func etcdLogger(closing *atomic.Bool) *zap.Logger {
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	core := zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.Lock(os.Stderr), zapcore.ErrorLevel)
	return zap.New(quietWhenClosing{Core: core, closing: closing})
}
