package data

// LoadCSVChecked loads one CSV file that is the whole labelled data (a
// validation or test split is carved from it afterwards, see
// SplitValidation), with the class count of LoadCSVPair: opt.Classes if
// set, else derived from its labels under the rules of setClasses.
func LoadCSVChecked(path string, opt CSVOptions) (*Dataset, error) {
	d, lines, err := loadCSV(path, opt, progressFiles(opt.Progress, path))
	if err != nil {
		return nil, err
	}
	const hint = "; is csv.label_column the label? csv.classes declares the class count instead"
	none := &Dataset{}
	if err := setClasses(d, none, opt.Classes, labelSource{file: path, at: lineAt(lines), hint: hint}, labelSource{file: path}); err != nil {
		return nil, err
	}
	return d, nil
}
