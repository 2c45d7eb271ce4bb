package rules

import (
	"errors"
	"testing"
	"time"
)

func TestFindDate(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Date          // zero when an error is expected
		code DateErrorCode // the error's code, when one is expected
	}{
		{"a bare date", "26/07/2027", Date{2027, time.July, 26}, ""},
		{"in an English sentence", "my card expires on 26/07/2027 I think", Date{2027, time.July, 26}, ""},
		{"in Portuguese words", "o meu cartão é válido até 26 de julho de 2027, obrigada", Date{2027, time.July, 26}, ""},
		{"in French words", "elle expire le 3 mars 2027 !", Date{2027, time.March, 3}, ""},
		{"the same date twice", "26/07/2027, yes 26/07/2027", Date{2027, time.July, 26}, ""},
		{"two different dates are not guessed", "issued 01/02/2022, expires 26/07/2027", Date{}, DateUnrecognised},
		{"an impossible date in a sentence", "it says 31/02/2027", Date{}, DateImpossible},
		{"no date at all", "I don't know, sorry", Date{}, DateUnrecognised},
		{"empty", "", Date{}, DateUnrecognised},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FindDate(tt.in)
			var de *DateError
			switch {
			case tt.code == "" && err != nil:
				t.Fatalf("FindDate(%q) error %v; want %s", tt.in, err, tt.want)
			case tt.code != "" && (!errors.As(err, &de) || de.Code != tt.code):
				t.Fatalf("FindDate(%q) = %v, %v; want error %s", tt.in, got, err, tt.code)
			}
			if got != tt.want {
				t.Errorf("FindDate(%q) = %s; want %s", tt.in, got, tt.want)
			}
		})
	}
}
