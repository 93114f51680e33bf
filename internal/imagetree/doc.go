// Package imagetree writes datasets of images as an image folder
// (root/<split>/<class>/<index>.png), the layout data.LoadImageFolder
// reads, for tests and examples.
package imagetree
