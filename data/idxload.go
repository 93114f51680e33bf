package data

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// MNIST file names; LoadIDXDir also accepts each with a ".gz" suffix.
const (
	TrainImagesFile = "train-images-idx3-ubyte"
	TrainLabelsFile = "train-labels-idx1-ubyte"
	TestImagesFile  = "t10k-images-idx3-ubyte"
	TestLabelsFile  = "t10k-labels-idx1-ubyte"
)

// LoadIDX reads an image file (IDX, 3 dimensions: count, rows, cols) and a
// label file (IDX, 1 dimension: count) into a Dataset named after the image
// file. The counts must match.
func LoadIDX(imagesPath, labelsPath string) (*Dataset, error) {
	img, err := os.Open(imagesPath)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer img.Close()
	lbl, err := os.Open(labelsPath)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer lbl.Close()
	name := strings.TrimSuffix(filepath.Base(imagesPath), ".gz")
	return decodeIDXPair(name, imagesPath, img, labelsPath, lbl)
}

// LoadIDXDir loads the MNIST file layout of dir (TrainImagesFile and
// friends, each plain or ".gz"; the plain file wins if both exist). Train
// and test images must have the same size. Both datasets get the same
// Classes, one more than the largest training label, under the rules of
// setClasses (every class present in training, at least 2 training samples
// per class, test labels below it).
func LoadIDXDir(dir string) (train, test *Dataset, err error) {
	base := filepath.Base(filepath.Clean(dir))
	open := func(name string) (string, error) {
		for _, p := range []string{filepath.Join(dir, name), filepath.Join(dir, name+".gz")} {
			if _, err := os.Stat(p); err == nil {
				return p, nil
			} else if !errors.Is(err, fs.ErrNotExist) {
				return "", fmt.Errorf("data: %w", err)
			}
		}
		return "", fmt.Errorf("data: %s: neither %s nor %s.gz exists", dir, name, name)
	}
	var paths [4]string
	for i, name := range []string{TrainImagesFile, TrainLabelsFile, TestImagesFile, TestLabelsFile} {
		if paths[i], err = open(name); err != nil {
			return nil, nil, err
		}
	}
	if train, err = LoadIDX(paths[0], paths[1]); err != nil {
		return nil, nil, err
	}
	if test, err = LoadIDX(paths[2], paths[3]); err != nil {
		return nil, nil, err
	}
	train.Name, test.Name = base+"/train", base+"/test"
	if err := idxSplit(train, test, paths[0], paths[1], paths[2], paths[3]); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

// idxSplit checks that an IDX train and test set agree (image size) and
// gives both their class count (setClasses); the names are used in errors.
func idxSplit(train, test *Dataset, trainImages, trainLabels, testImages, testLabels string) error {
	if err := checkSameShape(train, test, trainImages, testImages); err != nil {
		return err
	}
	return setClasses(train, test, 0, labelSource{file: trainLabels, at: indexAt}, labelSource{file: testLabels, at: indexAt})
}

// decodeIDXPair decodes an image and a label IDX stream (for embedded or
// in-memory files); imagesName and labelsName are used in errors.
func decodeIDXPair(name, imagesName string, images io.Reader, labelsName string, labels io.Reader) (*Dataset, error) {
	imgDims, img, err := decodeIDX(images, 3)
	if err != nil {
		return nil, fmt.Errorf("data: %s: %w", imagesName, err)
	}
	lblDims, lbl, err := decodeIDX(labels, 1)
	if err != nil {
		return nil, fmt.Errorf("data: %s: %w", labelsName, err)
	}
	return idxDataset(name, imagesName, imgDims, img, labelsName, lblDims, lbl)
}

// idxDataset builds a Dataset from decoded IDX images [count, rows, cols]
// and labels [count] (decodeIDX checked the number of dimensions).
func idxDataset(name, imagesName string, imgDims []int, img []byte, labelsName string, lblDims []int, lbl []byte) (*Dataset, error) {
	n, rows, cols := imgDims[0], imgDims[1], imgDims[2]
	if n != lblDims[0] {
		return nil, fmt.Errorf("data: %s has %d images but %s has %d labels", imagesName, n, labelsName, lblDims[0])
	}
	if n == 0 {
		return nil, fmt.Errorf("data: %s: no samples", imagesName)
	}
	if rows == 0 || cols == 0 {
		return nil, fmt.Errorf("data: %s: image size %dx%d: want both >= 1", imagesName, rows, cols)
	}
	d := &Dataset{
		Name:  name,
		X:     make([]float32, len(img)),
		Y:     make([]int32, n),
		N:     n,
		Dim:   rows * cols,
		Shape: []int{1, rows, cols},
	}
	for i, v := range img {
		d.X[i] = float32(v) / 255
	}
	maxLabel := 0
	for i, v := range lbl {
		d.Y[i] = int32(v)
		maxLabel = max(maxLabel, int(v))
	}
	d.Classes = maxLabel + 1
	return d, nil
}
