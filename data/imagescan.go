package data

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// imageExts are the file name extensions an image folder's loader decodes
// (compared in lower case); other files are ignored and counted.
var imageExts = []string{".png", ".jpg", ".jpeg", ".gif"}

// imageFile is one image of a split: its path and class.
type imageFile struct {
	path  string
	label int32
}

// imageSplit is one split's files in load order: by class, then by path.
type imageSplit struct {
	dir     string
	files   []imageFile
	ignored int // files that are not images by their extension
}

// classDirs returns the sorted names of split's class directories. Hidden
// entries (a leading dot) and plain files directly in split are not
// classes.
func classDirs(split string) ([]string, error) {
	entries, err := os.ReadDir(split)
	if err != nil {
		return nil, fmt.Errorf("data: image folder: %w", err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if isDir(filepath.Join(split, e.Name()), e) {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

// isDir reports whether e, at path, is a directory or a link to one.
func isDir(path string, e fs.DirEntry) bool {
	if e.IsDir() {
		return true
	}
	if e.Type()&fs.ModeSymlink != 0 {
		st, err := os.Stat(path)
		return err == nil && st.IsDir()
	}
	return false
}

// scanSplit lists the images of split (a train or test directory) under
// classes, walking each class directory recursively in lexical order.
// Files without an image extension and hidden entries are ignored
// (counted); requireEach makes a class without images an error.
func scanSplit(split string, classes []string, requireEach bool) (*imageSplit, error) {
	s := &imageSplit{dir: split}
	for label, class := range classes {
		dir := filepath.Join(split, class)
		n := 0
		err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if path != dir && strings.HasPrefix(e.Name(), ".") {
				if e.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if e.IsDir() {
				return nil
			}
			if !slices.Contains(imageExts, strings.ToLower(filepath.Ext(path))) {
				s.ignored++
				return nil
			}
			if !e.Type().IsRegular() {
				st, err := os.Stat(path)
				if err != nil {
					return err
				}
				if !st.Mode().IsRegular() {
					s.ignored++
					return nil
				}
			}
			s.files = append(s.files, imageFile{path: path, label: int32(label)})
			n++
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("data: image folder: %w", err)
		}
		if n == 0 && requireEach {
			return nil, fmt.Errorf("data: image folder: class directory %s has no images (%s): want at least one per class",
				dir, strings.Join(imageExts, ", "))
		}
	}
	if len(s.files) == 0 {
		return nil, fmt.Errorf("data: image folder: %s has no images (%s) in its class directories", split, strings.Join(imageExts, ", "))
	}
	return s, nil
}

// scanImageFolder lists root's train and test images. The classes are the
// sorted names of train's subdirectories, and test's must be the same
// names (a test class may hold no images; a training class must hold
// some).
func scanImageFolder(root string) (classes []string, train, test *imageSplit, err error) {
	trainDir, testDir := filepath.Join(root, "train"), filepath.Join(root, "test")
	if classes, err = classDirs(trainDir); err != nil {
		return nil, nil, nil, fmt.Errorf("%w (want %s/train/<class>/ and %s/test/<class>/ directories of images)", err, root, root)
	}
	testClasses, err := classDirs(testDir)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w (want %s/train/<class>/ and %s/test/<class>/ directories of images)", err, root, root)
	}
	if len(classes) < 2 || len(classes) > MaxClasses {
		return nil, nil, nil, fmt.Errorf("data: image folder: %s has %d class directories %q: want 2..%d", trainDir, len(classes), clipNames(classes), MaxClasses)
	}
	if !slices.Equal(classes, testClasses) {
		return nil, nil, nil, fmt.Errorf("data: image folder: the class directories differ: %s only has %q, %s only has %q: want the same classes in both",
			trainDir, clipNames(minus(classes, testClasses)), testDir, clipNames(minus(testClasses, classes)))
	}
	if train, err = scanSplit(trainDir, classes, true); err != nil {
		return nil, nil, nil, err
	}
	if test, err = scanSplit(testDir, classes, false); err != nil {
		return nil, nil, nil, err
	}
	return classes, train, test, nil
}

// minus returns the elements of sorted a that sorted b lacks.
func minus(a, b []string) []string {
	out := []string{}
	for _, s := range a {
		if _, found := slices.BinarySearch(b, s); !found {
			out = append(out, s)
		}
	}
	return out
}

// clipNames keeps the first few names of a list for an error message.
func clipNames(names []string) []string {
	const n = 8
	if len(names) > n {
		return append(slices.Clip(names[:n]), fmt.Sprintf("... (%d more)", len(names)-n))
	}
	return names
}
