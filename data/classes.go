package data

import (
	"fmt"
	"slices"
)

// MaxClasses caps the number of classes, declared or derived from labels.
const MaxClasses = 1 << 16

// labelSource says where a split's labels were read from, for errors.
type labelSource struct {
	// file is the label file (IDX) or the CSV file.
	file string
	// at describes sample i's position in file, e.g. "index 17" or
	// "line 18".
	at func(i int) string
	// hint is added to errors about derived classes: how to declare the
	// class count instead, where the format allows it.
	hint string
}

// indexAt is labelSource.at for formats whose samples are numbered from 0.
func indexAt(i int) string { return fmt.Sprintf("index %d", i) }

// setClasses gives train and test their class count and checks every label
// against it. declared > 0 is the count the job declares (labels were
// already checked to be below it). Otherwise the count is derived from the
// training labels, K = largest label + 1, and must make sense:
//
//   - 2 <= K <= MaxClasses;
//   - every class 0..K-1 has at least one training sample (a stray large
//     label, e.g. a corrupt byte of 200 among the digits 0..9, would
//     otherwise add 191 empty classes);
//   - there are at least 2 training samples per class on average (an
//     identifier or a feature chosen as the label column would give about
//     one class per sample);
//   - every test label is below K.
//
// Errors name the file, the position and the value of the offending label.
func setClasses(train, test *Dataset, declared int, trainSrc, testSrc labelSource) error {
	if declared > 0 {
		if declared < 2 || declared > MaxClasses {
			return fmt.Errorf("data: %s: %d classes declared: want 2..%d", trainSrc.file, declared, MaxClasses)
		}
		train.Classes, test.Classes = declared, declared
		return nil
	}
	if len(train.Y) == 0 {
		return fmt.Errorf("data: %s: no training labels", trainSrc.file)
	}
	top := slices.Index(train.Y, slices.Max(train.Y))
	k := int(train.Y[top]) + 1
	if k < 2 {
		return fmt.Errorf("data: %s: all %d training labels are 0: want at least 2 classes%s", trainSrc.file, train.N, trainSrc.hint)
	}
	if k > MaxClasses {
		return fmt.Errorf("data: %s: label %d at %s: more than %d classes%s",
			trainSrc.file, train.Y[top], trainSrc.at(top), MaxClasses, trainSrc.hint)
	}
	seen := make([]bool, k)
	for _, y := range train.Y {
		seen[y] = true
	}
	if lo := slices.Index(seen, false); lo >= 0 {
		hi := lo + slices.Index(seen[lo:], true) - 1
		return fmt.Errorf("data: %s: label %d at %s makes %d classes, but no training sample has a label in %d..%d: "+
			"want every label 0..%d present (a corrupt label?)%s",
			trainSrc.file, train.Y[top], trainSrc.at(top), k, lo, hi, k-1, trainSrc.hint)
	}
	if 2*k > train.N {
		return fmt.Errorf("data: %s: label %d at %s makes %d classes for %d training samples: "+
			"want at least 2 samples per class%s",
			trainSrc.file, train.Y[top], trainSrc.at(top), k, train.N, trainSrc.hint)
	}
	for i, y := range test.Y {
		if int(y) >= k {
			return fmt.Errorf("data: %s: label %d at %s: the training labels (%s) have only %d classes, 0..%d",
				testSrc.file, y, testSrc.at(i), trainSrc.file, k, k-1)
		}
	}
	train.Classes, test.Classes = k, k
	return nil
}

// checkSameShape reports whether train and test samples have the same
// shape (and so the same Dim).
func checkSameShape(train, test *Dataset, trainFile, testFile string) error {
	if !slices.Equal(train.Shape, test.Shape) {
		return fmt.Errorf("data: %s has samples of shape %v (%d features) but %s has %v (%d features): want the same",
			testFile, test.Shape, test.Dim, trainFile, train.Shape, train.Dim)
	}
	return nil
}
