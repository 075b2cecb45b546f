package sdk

import (
	"fmt"
	"slices"

	"github.com/edgerelay/edgerelay/sdk/abi"
)

// serveInit runs p.Init on a config and returns the Result bytes.
func serveInit(p *Plugin, config, dst []byte) (out []byte) {
	defer recoverInto(&out, dst)
	if p.Init != nil {
		if err := p.Init(config); err != nil {
			return abi.AppendError(dst, err.Error())
		}
	}
	return abi.AppendOK(dst)
}

// serveSeries answers a SeriesRequest with p.Series and returns the Result bytes.
func serveSeries(p *Plugin, req, dst []byte) (out []byte) {
	defer recoverInto(&out, dst)
	if p.Series == nil {
		return abi.AppendError(dst, "module has no series function")
	}
	r := abi.NewReader(req)
	n, err := r.U32()
	if err != nil {
		return abi.AppendError(dst, err.Error())
	}
	dst = abi.AppendOK(dst)
	dst = abi.AppendU32(dst, n)
	var in, orig Labels
	for range n {
		in, err = r.AppendLabelsAliased(in[:0])
		if err != nil {
			return abi.AppendError(dst[:0], err.Error())
		}
		orig = append(orig[:0], in...)
		res, keep := p.Series(in)
		switch {
		case !keep || len(res) == 0:
			dst = append(dst, abi.OpDrop)
		case slices.Equal(res, orig):
			dst = append(dst, abi.OpKeep)
		default:
			dst = append(dst, abi.OpReplace)
			dst = abi.AppendLabels(dst, res)
		}
	}
	return dst
}

var samples Samples

// serveSamples answers a SamplesRequest with p.Samples.
func serveSamples(p *Plugin, req, dst []byte) (out []byte) {
	defer recoverInto(&out, dst)
	if p.Samples == nil {
		return abi.AppendError(dst, "module has no samples function")
	}
	if err := abi.NewReader(req).Samples(&samples); err != nil {
		return abi.AppendError(dst, err.Error())
	}
	if err := p.Samples(&samples); err != nil {
		return abi.AppendError(dst, err.Error())
	}
	if len(samples.T) != len(samples.Refs) || len(samples.V) != len(samples.Refs) {
		return abi.AppendError(dst, "samples columns of unequal length")
	}
	return abi.AppendSamples(abi.AppendOK(dst), &samples)
}

// recoverInto turns a panic in plugin code into an error Result, so a bug
// in one label set costs one call rather than the instance.
func recoverInto(out *[]byte, dst []byte) {
	if r := recover(); r != nil {
		*out = abi.AppendError(dst[:0], fmt.Sprintf("panic: %v", r))
	}
}

func kind(p *Plugin) int32 {
	switch {
	case p.Samples != nil:
		return abi.KindSamples
	case p.Stream != nil:
		return abi.KindStream
	}
	return abi.KindSeries
}
