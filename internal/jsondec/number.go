package jsondec

import "strconv"

// pow10 holds the powers of ten that float64 represents exactly.
var pow10 = [...]float64{
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
}

// maxNumInMsg is the longest number literal quoted in full in an error.
const maxNumInMsg = 40

// number decodes the number literal that starts at data[i] and returns it
// with the index after it. The value is the one strconv.ParseFloat gives:
// when the digits and the power of ten are both exact in a float64, a single
// correctly rounded multiplication or division gives that value directly;
// otherwise ParseFloat is called. A number out of float64 range is recorded
// in d.numErr and decoding goes on, as encoding/json reports it only when
// the input has no syntax error.
func (d *decoder) number(data []byte, i int) (float64, int, *SyntaxError) {
	start := i
	neg := data[i] == '-'
	if neg {
		i++
	}
	var mant uint64
	nd := 0 // digits seen; mant is exact while nd <= 19
	switch {
	case i >= len(data):
		return 0, 0, syntaxError(data, i, ctxNumber, true)
	case data[i] == '0':
		i++
	case '1' <= data[i] && data[i] <= '9':
		for ; i < len(data) && '0' <= data[i] && data[i] <= '9'; i++ {
			mant = mant*10 + uint64(data[i]-'0')
			nd++
		}
	default:
		return 0, 0, syntaxError(data, i, ctxNumber, true)
	}
	exp := 0
	if i < len(data) && data[i] == '.' {
		i++
		if i >= len(data) || data[i] < '0' || data[i] > '9' {
			return 0, 0, syntaxError(data, i, ctxDecimalPoint, true)
		}
		frac := i
		for ; i < len(data) && '0' <= data[i] && data[i] <= '9'; i++ {
			mant = mant*10 + uint64(data[i]-'0')
			nd++
		}
		exp = frac - i
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		eneg := false
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			eneg = data[i] == '-'
			i++
		}
		if i >= len(data) || data[i] < '0' || data[i] > '9' {
			return 0, 0, syntaxError(data, i, ctxExponent, true)
		}
		e := 0
		for ; i < len(data) && '0' <= data[i] && data[i] <= '9'; i++ {
			if e < 100000 {
				e = e*10 + int(data[i]-'0')
			}
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	if nd <= 19 && mant <= 1<<53 && -22 <= exp && exp <= 22 {
		f := float64(mant)
		if exp > 0 {
			f *= pow10[exp]
		} else if exp < 0 {
			f /= pow10[-exp]
		}
		if neg {
			f = -f
		}
		return f, i, nil
	}
	f, err := strconv.ParseFloat(string(data[start:i]), 64)
	if err != nil && d.numErr == nil {
		lit := string(data[start:i])
		if len(lit) > maxNumInMsg {
			lit = lit[:maxNumInMsg] + "..."
		}
		d.numErr = &SyntaxError{Offset: int64(i), Msg: "number " + lit + " is out of float64 range"}
	}
	return f, i, nil
}
