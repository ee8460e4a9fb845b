// A project with custom C++, written for invasim's importer tests (not PhysiCell's template)
#include "./custom.h"

void create_cell_types( void )
{
	initialize_default_cell_definition();
	initialize_cell_definitions_from_pugixml();
	Cell_Definition* pCD = find_cell_definition( "tumor" );
	pCD->functions.update_phenotype = tumor_phenotype;
	build_cell_definitions_maps();
}

void setup_tissue( void )
{
	Cell* pC = create_cell( get_cell_definition("tumor") );
	pC->assign_position( 0.0 , 0.0 , 0.0 );
}

void tumor_phenotype( Cell* pCell, Phenotype& phenotype, double dt )
{
	// "{" in a string and a comment } must not confuse the scan
	if( pCell->custom_data["weights"] > 1.0 ) { phenotype.motility.migration_speed = 2.0; }
	return;
}
