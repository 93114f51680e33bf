package data

import (
	"embed"
	"fmt"
)

// mnist10k is read-only: embed.FS cannot be modified.
//
//go:embed mnist10k/*.gz
var mnist10k embed.FS

// Default returns the embedded MNIST-10k data set (data/mnist10k, see its
// README.md): 8,000 training and 2,000 test images of 28x28 digits, labels
// 0..9. Each call decodes afresh (about 8 MB of pixels); callers that need
// it twice should keep the result.
func Default() (train, test *Dataset, err error) {
	load := func(split, images, labels string) (*Dataset, error) {
		img, err := mnist10k.Open("mnist10k/" + images + ".gz")
		if err != nil {
			return nil, fmt.Errorf("data: embedded %s: %w", images, err)
		}
		defer img.Close()
		lbl, err := mnist10k.Open("mnist10k/" + labels + ".gz")
		if err != nil {
			return nil, fmt.Errorf("data: embedded %s: %w", labels, err)
		}
		defer lbl.Close()
		return decodeIDXPair("mnist10k/"+split, "embedded "+images, img, "embedded "+labels, lbl)
	}
	if train, err = load("train", TrainImagesFile, TrainLabelsFile); err != nil {
		return nil, nil, err
	}
	if test, err = load("test", TestImagesFile, TestLabelsFile); err != nil {
		return nil, nil, err
	}
	err = idxSplit(train, test, "embedded "+TrainImagesFile, "embedded "+TrainLabelsFile, "embedded "+TestImagesFile, "embedded "+TestLabelsFile)
	if err != nil {
		return nil, nil, err
	}
	return train, test, nil
}
