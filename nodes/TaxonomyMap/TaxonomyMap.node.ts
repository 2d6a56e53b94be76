import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';

import {
	applyTaxonomy,
	compileTaxonomy,
	exportRules,
	itemFacts,
	loadRules,
	TaxonomyConfigError,
	TaxonomyInputError,
	type CompiledTaxonomy,
	type MatchMode,
	type RulesSource,
	type TaxonomyParameters,
} from '../shared/taxonomy';

const fromParameters = { show: { rulesSource: ['parameters'] } };
const PARAMETER_NAMES = [
	'queueMappings',
	'skillMappings',
	'interactionTypeModules',
	'criterionModules',
	'scoreRules',
	'defaultCourseId',
	'defaultCategory',
	'defaultAssetType',
] as const;

export class TaxonomyMap implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Taxonomy Map',
		name: 'taxonomyMap',
		icon: { light: 'file:taxonomyMap.svg', dark: 'file:taxonomyMap.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{ $parameter["operation"] === "export" ? "Export rules as JSON" : ($parameter["matchMode"] === "all" ? "All matching rules" : "First matching rule") }}',
		description: 'File recordings and evaluations under a course and category, and pick asset type, tags, visibility and remedial modules by rules',
		defaults: { name: 'Taxonomy Map' },
		documentationUrl: 'https://github.com/cx-training/n8n-nodes-cx-training#taxonomy-map',
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		usableAsTool: true,
		properties: [
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: [
					{
						name: 'Apply Rules',
						value: 'map',
						description: 'Add a taxonomy section (course, category, asset type, tags, visibility, remedial modules) to each item',
						action: 'Apply taxonomy rules to items',
					},
					{
						name: 'Export Rules as JSON',
						value: 'export',
						description: 'Output the effective rule set once, in the JSON shape Rules Source → JSON imports',
						action: 'Export the taxonomy rules as JSON',
					},
				],
				default: 'map',
			},
			{
				displayName: 'Rules Source',
				name: 'rulesSource',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'JSON', value: 'json', description: 'Paste a rule set exported from this node or kept in version control' },
					{ name: 'Node Parameters', value: 'parameters', description: 'Edit mappings and score rules below' },
				],
				default: 'parameters',
			},
			{
				displayName: 'Rules JSON',
				name: 'rulesJson',
				type: 'json',
				typeOptions: { rows: 16 },
				displayOptions: { show: { rulesSource: ['json'] } },
				default: `{
	"version": 1,
	"match_mode": "first",
	"mappings": {
		"queues": {},
		"skills": {},
		"interaction_types": {},
		"criteria": {
			"Compliance": { "modules": ["mod-compliance-101"] },
			"Empathy": { "modules": ["mod-soft-skills-empathy"] },
			"Resolution": { "modules": ["mod-product-knowledge"] }
		}
	},
	"score_rules": [
		{ "name": "Exemplar", "condition": "score >= 90", "asset_type": "exemplar", "tags": ["best-practice"], "visibility": "public" },
		{ "name": "Coaching", "condition": "score < 70", "asset_type": "coaching", "tags": ["needs-coaching"], "assign_to": "agent" }
	],
	"default": { "course": "course-cx-general", "category": "General", "asset_type": "standard" }
}`,
				description:
					'The rule set: mappings (queues, skills, interaction_types, criteria), score_rules and default. Invalid rules stop the node and are named with the reason.',
			},
			{
				displayName: 'Match Mode',
				name: 'matchMode',
				type: 'options',
				noDataExpression: true,
				options: [
					{
						name: 'All Matching Rules',
						value: 'all',
						description: 'Every matching rule adds its tags and remedial modules; the first one that sets asset type or assign to wins; private beats public',
					},
					{ name: 'First Matching Rule', value: 'first', description: 'Only the first score rule (top to bottom) whose condition holds applies' },
				],
				default: 'first',
				description: 'How score rules combine. With Rules Source JSON, a match_mode in the JSON must agree with this.',
			},
			{
				displayName: 'Queue Mappings',
				name: 'queueMappings',
				type: 'fixedCollection',
				typeOptions: { multipleValues: true, sortable: true },
				displayOptions: fromParameters,
				placeholder: 'Add Queue Mapping',
				default: {},
				description: 'Queue → course and category. A queue matches by ID or by name, ignoring case. Items of unmapped queues get the default course and are marked unmapped.',
				options: [
					{
						name: 'mapping',
						displayName: 'Queue',
						values: [
							{ displayName: 'Queue ID or Name', name: 'queue', type: 'string', default: '', placeholder: 'e.g. Billing Support' },
							{ displayName: 'Course ID', name: 'courseId', type: 'string', default: '', placeholder: 'e.g. course-billing' },
							{ displayName: 'Category', name: 'category', type: 'string', default: '', placeholder: 'e.g. Billing' },
						],
					},
				],
			},
			{
				displayName: 'Skill Mappings',
				name: 'skillMappings',
				type: 'fixedCollection',
				typeOptions: { multipleValues: true, sortable: true },
				displayOptions: fromParameters,
				placeholder: 'Add Skill Mapping',
				default: {},
				description: 'Skill → course and category, used when the queue is not mapped. The first mapping (top to bottom) whose skill the item has wins.',
				options: [
					{
						name: 'mapping',
						displayName: 'Skill',
						values: [
							{ displayName: 'Skill', name: 'skill', type: 'string', default: '', placeholder: 'e.g. Spanish' },
							{ displayName: 'Course ID', name: 'courseId', type: 'string', default: '', placeholder: 'e.g. course-spanish' },
							{ displayName: 'Category', name: 'category', type: 'string', default: '', placeholder: 'e.g. Spanish' },
						],
					},
				],
			},
			{
				displayName: 'Interaction Type Modules',
				name: 'interactionTypeModules',
				type: 'fixedCollection',
				typeOptions: { multipleValues: true, sortable: true },
				displayOptions: fromParameters,
				placeholder: 'Add Interaction Type',
				default: {},
				description: 'Interaction type (voice, chat, email… or the media type of a recording) → the course module the asset is filed under',
				options: [
					{
						name: 'mapping',
						displayName: 'Interaction Type',
						values: [
							{ displayName: 'Interaction Type', name: 'interactionType', type: 'string', default: '', placeholder: 'e.g. chat' },
							{ displayName: 'Module ID', name: 'moduleId', type: 'string', default: '', placeholder: 'e.g. mod-chat-basics' },
						],
					},
				],
			},
			{
				displayName: 'Remedial Modules',
				name: 'criterionModules',
				type: 'fixedCollection',
				typeOptions: { multipleValues: true, sortable: true },
				displayOptions: fromParameters,
				placeholder: 'Add Criterion',
				default: {
					mapping: [
						{ criterion: 'Compliance', moduleIds: 'mod-compliance-101' },
						{ criterion: 'Empathy', moduleIds: 'mod-soft-skills-empathy' },
						{ criterion: 'Resolution', moduleIds: 'mod-product-knowledge' },
					],
				},
				description: 'Failed evaluation criterion (by name or ID, ignoring case) → remedial module IDs that Guarded Assign may assign',
				options: [
					{
						name: 'mapping',
						displayName: 'Criterion',
						values: [
							{ displayName: 'Criterion', name: 'criterion', type: 'string', default: '', placeholder: 'e.g. Compliance' },
							{
								displayName: 'Module IDs',
								name: 'moduleIds',
								type: 'string',
								default: '',
								placeholder: 'e.g. mod-compliance-101',
								description: 'One or more module IDs, separated by commas',
							},
						],
					},
				],
			},
			{
				displayName: 'Score Rules',
				name: 'scoreRules',
				type: 'fixedCollection',
				typeOptions: { multipleValues: true, sortable: true },
				displayOptions: fromParameters,
				placeholder: 'Add Score Rule',
				default: {
					rule: [
						{ assetType: 'exemplar', assignTo: '', condition: 'score >= 90', name: 'Exemplar', remedialModuleIds: '', tags: 'best-practice', visibility: 'public' },
						{ assetType: 'coaching', assignTo: 'agent', condition: 'score < 70', name: 'Coaching', remedialModuleIds: '', tags: 'needs-coaching', visibility: '' },
					],
				},
				description: 'Checked top to bottom. A rule applies when its condition holds for the item.',
				options: [
					{
						name: 'rule',
						displayName: 'Rule',
						values: [
							{ displayName: 'Asset Type', name: 'assetType', type: 'string', default: '', placeholder: 'e.g. exemplar', description: 'Kind of learning asset, such as exemplar or coaching' },
							{
								displayName: 'Assign To',
								name: 'assignTo',
								type: 'options',
								options: [
									{ name: 'Agent', value: 'agent' },
									{ name: 'Nobody', value: 'none' },
									{ name: 'Not Set', value: '' },
									{ name: 'Supervisor', value: 'supervisor' },
									{ name: 'Team', value: 'team' },
								],
								default: '',
								description: 'Who Guarded Assign should assign the remedial training to (Nobody when no rule sets it)',
							},
							{
								displayName: 'Condition',
								name: 'condition',
								type: 'string',
								default: '',
								placeholder: "e.g. critical_failed or 'Compliance' in criteria.failed",
								description:
									"Fields: score, criteria.failed, criteria.failed_count, critical_failed, has_evaluation, queue, skill, interaction_type, agent_id, source. Operators: == and != for any field, the greater/less-than comparisons for numbers, in ['a', 'b'], contains, and, or, not, parentheses. Text goes in quotes. A rule that reads the score never matches an item without an evaluation.",
							},
							{ displayName: 'Name', name: 'name', type: 'string', default: '', placeholder: 'e.g. Exemplar', description: 'A label shown in matchedRules' },
							{
								displayName: 'Remedial Module IDs',
								name: 'remedialModuleIds',
								type: 'string',
								default: '',
								placeholder: 'e.g. mod-coaching-basics',
								description: 'Module IDs to add to those of the failed criteria, separated by commas',
							},
							{ displayName: 'Tags', name: 'tags', type: 'string', default: '', placeholder: 'e.g. best-practice, billing', description: 'Tags to add, separated by commas' },
							{
								displayName: 'Visibility',
								name: 'visibility',
								type: 'options',
								options: [
									{ name: 'Not Set', value: '' },
									{ name: 'Private', value: 'private' },
									{ name: 'Public', value: 'public' },
								],
								default: '',
								description:
									'Public shows the asset to all learners. Assets stay private unless a matching rule says public, and LMS Push keeps an asset private anyway when its PII scan was not clean.',
							},
						],
					},
				],
			},
			{
				displayName: 'Default Course ID',
				name: 'defaultCourseId',
				type: 'string',
				required: true,
				displayOptions: fromParameters,
				default: 'course-cx-general',
				placeholder: 'e.g. course-cx-general',
				description: 'Course for items whose queue and skills are not mapped (they are marked unmapped, never dropped)',
			},
			{
				displayName: 'Default Category',
				name: 'defaultCategory',
				type: 'string',
				required: true,
				displayOptions: fromParameters,
				default: 'General',
				description: 'Category for items whose queue and skills are not mapped',
			},
			{
				displayName: 'Default Asset Type',
				name: 'defaultAssetType',
				type: 'string',
				displayOptions: fromParameters,
				default: 'standard',
				description: 'Asset type when no matching rule sets one',
			},
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const operation = this.getNodeParameter('operation', 0) as string;
		const compiledByKey = new Map<string, CompiledTaxonomy>();

		// Rules are read per item (they may be expressions) but compiled once per distinct rule set.
		const compiledFor = (itemIndex: number): CompiledTaxonomy => {
			const source = this.getNodeParameter('rulesSource', itemIndex) as RulesSource;
			const matchMode = this.getNodeParameter('matchMode', itemIndex) as MatchMode;
			const json = source === 'json' ? this.getNodeParameter('rulesJson', itemIndex) : undefined;
			const parameters: TaxonomyParameters = {};
			if (source === 'parameters') {
				for (const name of PARAMETER_NAMES) {
					(parameters as IDataObject)[name] = this.getNodeParameter(name, itemIndex, name.startsWith('default') ? '' : {});
				}
			}
			const cacheKey = JSON.stringify([source, matchMode, json, parameters]);
			let compiled = compiledByKey.get(cacheKey);
			if (!compiled) {
				try {
					compiled = compileTaxonomy(loadRules({ source, json, parameters, matchMode }));
				} catch (error) {
					if (!(error instanceof TaxonomyConfigError)) throw new NodeOperationError(this.getNode(), error as Error);
					// A rule set error is the node's configuration, not the item's: it fails the node whatever On Error says.
					throw new NodeOperationError(this.getNode(), error.message, {
						description: error.problems.map((problem) => problem.message).join('\n'),
					});
				}
				compiledByKey.set(cacheKey, compiled);
			}
			return compiled;
		};

		const first = compiledFor(0);
		if (operation === 'export') {
			const rules = exportRules(first.rules);
			return [[{ json: { taxonomyRules: rules as unknown as IDataObject, taxonomyRulesText: JSON.stringify(rules, null, 2) }, pairedItem: { item: 0 } }]];
		}

		const returnData: INodeExecutionData[] = [];
		for (let i = 0; i < items.length; i++) {
			const compiled = i === 0 ? first : compiledFor(i);
			try {
				const taxonomy = applyTaxonomy(compiled, itemFacts(items[i].json));
				const output: INodeExecutionData = { json: { ...items[i].json, taxonomy: taxonomy as unknown as IDataObject }, pairedItem: { item: i } };
				if (items[i].binary) output.binary = items[i].binary;
				returnData.push(output);
			} catch (error) {
				const nodeError =
					error instanceof TaxonomyInputError
						? new NodeOperationError(this.getNode(), error.message, {
								itemIndex: i,
								description: `Field: ${error.field}. Taxonomy Map reads recording references and evaluation items.`,
							})
						: new NodeOperationError(this.getNode(), error as Error, { itemIndex: i });
				if (this.continueOnFail()) {
					returnData.push({ json: { ...items[i].json, error: nodeError.message }, pairedItem: { item: i } });
					continue;
				}
				throw nodeError;
			}
		}
		return [returnData];
	}
}
