/** Reading the data files for analyze and export: scan, resolve revisions, filter, aggregate, select. */
export { dataFiles, planUnits, LIVE_FILE, type ScanUnit } from './files';
export { loadDataset, type Dataset, type ScanOptions, type ScanStats } from './dataset';
export { FILTER_FLAGS, FILTER_HELP, FilterError, filterFromFlags, select, DAY_MS, type Filter } from './filter';
export { analyze, splitByHost, dayOf, type Analysis, type AnalysisOptions, type Counts, type Dist, type ValidatorRow } from './analysis';
export { exportRecords, type ExportOptions, type ExportSummary } from './export';
